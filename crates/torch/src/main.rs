//! `flawprobe-torch`: the worker that runs flawprobe's libtorch stages
//! (training, cascading randomisation, activation dumps) in its own
//! process, so that the main binary does not load libtorch.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use flawprobe_torch::models::ModelKind;
use flawprobe_torch::train::{
    configure_runtime, dump_activations, measure_throughput, parse_device, randomise_cascade, train,
    ActivationConfig, TrainConfig,
};

#[derive(Parser)]
#[command(name = "flawprobe-torch", version, about = "Train, randomise and dump activations with libtorch")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a network from scratch; rerun with the same --work-dir to resume.
    Train {
        /// Training config (JSON, the fields of TrainConfig).
        #[arg(long)]
        config: PathBuf,
        /// split.arrow of the decode stage's dataset.
        #[arg(long)]
        split: PathBuf,
        /// images.arrow with uint8 RGB pixels and mean/std metadata.
        #[arg(long)]
        images: PathBuf,
        /// labels.arrow with the (possibly corrupted) training labels.
        #[arg(long)]
        labels: PathBuf,
        /// Directory kept across attempts for the resume state.
        #[arg(long)]
        work_dir: PathBuf,
        /// Directory that receives checkpoints/ and log.arrow.
        #[arg(long)]
        out: PathBuf,
    },
    /// Re-initialise a checkpoint from the head down to each given tap,
    /// writing OUT_DIR/randomised-<tap>.safetensors per tap.
    Randomise {
        #[arg(long)]
        model: ModelKind,
        #[arg(long)]
        num_classes: i64,
        #[arg(long)]
        checkpoint: PathBuf,
        /// Taps to randomise down to (comma-separated or repeated).
        #[arg(long = "tap", value_delimiter = ',', required = true)]
        taps: Vec<String>,
        /// Seed of the fresh weights.
        #[arg(long)]
        seed: u64,
        #[arg(long)]
        out_dir: PathBuf,
    },
    /// Write OUT/acts-<tap>.arrow with global-average-pooled activations.
    Activations {
        /// Activation config (JSON, the fields of ActivationConfig).
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        checkpoint: PathBuf,
        #[arg(long)]
        images: PathBuf,
        #[arg(long)]
        split: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure training and activation-dump throughput on random inputs
    /// and print it as JSON.
    Bench {
        #[arg(long)]
        model: ModelKind,
        /// Input side in pixels.
        #[arg(long)]
        image_size: i64,
        #[arg(long)]
        batch_size: i64,
        /// Timed batches of each kind, after one warm-up batch.
        #[arg(long, default_value_t = 5)]
        steps: usize,
        /// Intra-op threads; 0 keeps libtorch's default.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        #[arg(long, default_value = "auto")]
        device: String,
    },
    /// Print the libtorch version and the number of CUDA devices it finds, as JSON.
    Info,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    exit_with_parent();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("flawprobe-torch: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Train { config, split, images, labels, work_dir, out } => {
            let cfg: TrainConfig = read_json(&config)?;
            train(&cfg, &split, &images, &labels, &work_dir, &out)
        }
        Command::Randomise { model, num_classes, checkpoint, taps, seed, out_dir } => {
            std::fs::create_dir_all(&out_dir)
                .with_context(|| format!("cannot create {}", out_dir.display()))?;
            for tap in taps {
                let out = out_dir.join(format!("randomised-{tap}.safetensors"));
                randomise_cascade(model, num_classes, &checkpoint, &tap, seed, &out)?;
            }
            Ok(())
        }
        Command::Activations { config, checkpoint, images, split, out } => {
            let cfg: ActivationConfig = read_json(&config)?;
            dump_activations(&cfg, &checkpoint, &images, &split, &out)
        }
        Command::Bench { model, image_size, batch_size, steps, threads, device } => {
            let device = parse_device(&device)?;
            configure_runtime(device, threads);
            let throughput = measure_throughput(model, image_size, batch_size, steps, device)?;
            println!("{}", serde_json::to_string(&throughput)?);
            Ok(())
        }
        Command::Info => {
            let info = serde_json::json!({
                "libtorch": torch_version(),
                "cuda_available": tch::Cuda::is_available(),
                "cudnn_available": tch::Cuda::cudnn_is_available(),
                "cuda_device_count": tch::Cuda::device_count(),
                "threads": tch::get_num_threads(),
                "cudart_version": tch::Cuda::is_available().then(tch::utils::version_cudart),
                "cudnn_version": tch::Cuda::cudnn_is_available().then(tch::utils::version_cudnn),
            });
            println!("{info}");
            Ok(())
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: invalid config", path.display()))
}

/// Reads the version of the libtorch this process loaded from the
/// `version.py` beside it (`torch/lib/../version.py` in a PyTorch wheel);
/// `None` when libtorch did not come from a wheel.
fn torch_version() -> Option<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let library = maps.lines().filter_map(|line| line.split_whitespace().nth(5)).find(|path| path.ends_with("/libtorch_cpu.so"))?;
    let version_py = std::path::Path::new(library).parent()?.parent()?.join("version.py");
    let text = std::fs::read_to_string(version_py).ok()?;
    let line = text.lines().find(|line| line.starts_with("__version__"))?;
    Some(line.split(['\'', '"']).nth(1)?.to_string())
}

/// Asks the kernel to kill this worker when the `flawprobe run` that
/// started it dies, so a killed run leaves no orphan training that would
/// race the next run over the same resume folder.
fn exit_with_parent() {
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a signal number on the
    // calling process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    // The parent may have died before the call above; then we are adopted.
    if std::os::unix::process::parent_id() == 1 {
        std::process::exit(1);
    }
}
