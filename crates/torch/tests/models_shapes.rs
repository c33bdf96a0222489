//! Shapes and sizes of the architectures, checked against Keras' numbers.

use flawprobe_torch::models::{check_taps, ModelKind};
use tch::{nn, Device, Kind, Tensor};

fn trainable_parameters(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

#[test]
fn inception_taps_match_keras_at_299() {
    tch::manual_seed(0);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = ModelKind::InceptionV3.build(&vs.root(), 47);
    let taps: Vec<String> = ["mixed0", "mixed2", "mixed4", "mixed6", "mixed8", "mixed10"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let x = Tensor::randn([1, 3, 299, 299], (Kind::Float, Device::Cpu));

    let (logits, acts) = tch::no_grad(|| model.forward_taps(&x, false, &taps)).unwrap();

    assert_eq!(logits.size(), vec![1, 47]);
    let expected: [(&str, [i64; 4]); 6] = [
        ("mixed0", [1, 256, 35, 35]),
        ("mixed2", [1, 288, 35, 35]),
        ("mixed4", [1, 768, 17, 17]),
        ("mixed6", [1, 768, 17, 17]),
        ("mixed8", [1, 1280, 8, 8]),
        ("mixed10", [1, 2048, 8, 8]),
    ];
    assert_eq!(acts.len(), expected.len());
    for ((name, act), (want_name, want_shape)) in acts.iter().zip(expected) {
        assert_eq!(name, want_name);
        assert_eq!(act.size(), want_shape.to_vec(), "shape of {name}");
    }
}

#[test]
fn inception_parameter_count_matches_keras() {
    let vs = nn::VarStore::new(Device::Cpu);
    let _model = ModelKind::InceptionV3.build(&vs.root(), 47);
    // Keras' InceptionV3(include_top=False) has 21,768,352 trainable
    // parameters (kernels and BN β; the moving statistics are not).
    let keras = 21_768_352 + 2048 * 47 + 47;

    let ours = trainable_parameters(&vs);

    let relative = (ours - keras).abs() as f64 / keras as f64;
    assert!(relative < 0.01, "ours {ours}, Keras {keras}");
    assert_eq!(ours, keras, "the count should in fact match exactly");
}

#[test]
fn inception_accepts_the_smallest_input() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = ModelKind::InceptionV3.build(&vs.root(), 3);
    let x = Tensor::randn([2, 3, 75, 75], (Kind::Float, Device::Cpu));
    let taps = vec!["mixed10".to_string()];

    let (logits, acts) = tch::no_grad(|| model.forward_taps(&x, false, &taps)).unwrap();

    assert_eq!(logits.size(), vec![2, 3]);
    assert_eq!(acts[0].1.size(), vec![2, 2048, 1, 1]);
    assert!(ModelKind::InceptionV3.check_image_size(74).is_err());
}

#[test]
fn small_cnn_taps_halve_the_side() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = ModelKind::SmallCnn.build(&vs.root(), 10);
    let x = Tensor::randn([2, 3, 96, 96], (Kind::Float, Device::Cpu));
    let taps = model.tap_names();

    let (logits, acts) = tch::no_grad(|| model.forward_taps(&x, true, &taps)).unwrap();

    assert_eq!(taps, ["block1", "block2", "block3", "block4"]);
    assert_eq!(logits.size(), vec![2, 10]);
    let sizes: Vec<Vec<i64>> = acts.iter().map(|(_, a)| a.size()).collect();
    assert_eq!(
        sizes,
        vec![vec![2, 16, 24, 24], vec![2, 32, 12, 12], vec![2, 64, 6, 6], vec![2, 128, 3, 3]]
    );
}

#[test]
fn unknown_tap_is_rejected() {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = ModelKind::SmallCnn.build(&vs.root(), 10);
    let x = Tensor::randn([1, 3, 32, 32], (Kind::Float, Device::Cpu));
    let taps = vec!["mixed0".to_string()];

    let err = model.forward_taps(&x, false, &taps).unwrap_err();

    assert!(err.to_string().contains("unknown tap \"mixed0\""), "{err}");
    assert!(check_taps(model.as_ref(), &taps).is_err());
}

#[test]
fn model_kind_parses_config_names() {
    assert_eq!("small-cnn".parse::<ModelKind>().unwrap(), ModelKind::SmallCnn);
    assert_eq!("inception-v3".parse::<ModelKind>().unwrap(), ModelKind::InceptionV3);
    assert!("resnet".parse::<ModelKind>().is_err());
}
