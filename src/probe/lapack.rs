//! The few BLAS and LAPACK routines the ridge path needs and that
//! ndarray-linalg does not wrap: a symmetric rank-k update (`dsyrk`), the
//! Householder reduction of a symmetric matrix to tridiagonal form
//! (`dsytrd`) and the product with its orthogonal factor (`dormtr`).
//!
//! The symbols come from the OpenBLAS that ndarray-linalg links
//! (`openblas-system`). Matrices cross the boundary in column-major
//! (Fortran) layout; the safe wrappers check shapes and layouts first.

use std::os::raw::{c_char, c_int};

use ndarray::{Array1, Array2, ArrayView2, ShapeBuilder};

use super::ProbeError;

// Keeps the crate that links OpenBLAS in the build of every binary that
// calls the routines below.
use ndarray_linalg as _;

extern "C" {
    fn openblas_get_num_threads() -> c_int;
    fn openblas_set_num_threads(count: c_int);
    fn dsyrk_(
        uplo: *const c_char,
        trans: *const c_char,
        n: *const c_int,
        k: *const c_int,
        alpha: *const f64,
        a: *const f64,
        lda: *const c_int,
        beta: *const f64,
        c: *mut f64,
        ldc: *const c_int,
    );
    fn dsytrd_(
        uplo: *const c_char,
        n: *const c_int,
        a: *mut f64,
        lda: *const c_int,
        d: *mut f64,
        e: *mut f64,
        tau: *mut f64,
        work: *mut f64,
        lwork: *const c_int,
        info: *mut c_int,
    );
    fn dormtr_(
        side: *const c_char,
        uplo: *const c_char,
        trans: *const c_char,
        m: *const c_int,
        n: *const c_int,
        a: *const f64,
        lda: *const c_int,
        tau: *const f64,
        c: *mut f64,
        ldc: *const c_int,
        work: *mut f64,
        lwork: *const c_int,
        info: *mut c_int,
    );
}

/// Returns the number of threads OpenBLAS splits one call over
/// (`OPENBLAS_NUM_THREADS` unless changed).
pub fn blas_threads() -> usize {
    // SAFETY: a plain query of OpenBLAS's settings.
    let count = unsafe { openblas_get_num_threads() };
    usize::try_from(count).unwrap_or(1).max(1)
}

/// Sets OpenBLAS's thread count for the calls that follow, in every thread.
pub fn set_blas_threads(count: usize) {
    let count = c_int::try_from(count.max(1)).unwrap_or(1);
    // SAFETY: OpenBLAS accepts any positive count.
    unsafe { openblas_set_num_threads(count) }
}

const LOWER: c_char = b'L' as c_char;
const LEFT: c_char = b'L' as c_char;
const NO_TRANSPOSE: c_char = b'N' as c_char;
const TRANSPOSE: c_char = b'T' as c_char;

fn dim(value: usize) -> Result<c_int, ProbeError> {
    c_int::try_from(value).map_err(|_| ProbeError::TooLarge { size: value })
}

/// Which Gram matrix of a data matrix `a` (rows × columns) to form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gram {
    /// `aᵀ a`, columns × columns.
    Columns,
    /// `a aᵀ`, rows × rows.
    Rows,
}

/// Forms a Gram matrix of `a` with one `dsyrk` call and returns it with
/// both triangles filled, in column-major layout.
pub fn gram(a: ArrayView2<f64>, which: Gram) -> Result<Array2<f64>, ProbeError> {
    let (rows, cols) = a.dim();
    // The row-major buffer of `a` is the column-major buffer of `aᵀ`
    // (cols × rows), so `aᵀ a` is the BLAS "N" product of that buffer.
    let a = a.as_standard_layout();
    let buffer = a.as_slice().ok_or(ProbeError::Layout)?;
    let (size, inner, trans) = match which {
        Gram::Columns => (cols, rows, NO_TRANSPOSE),
        Gram::Rows => (rows, cols, TRANSPOSE),
    };
    let mut out = Array2::<f64>::zeros((size, size).f());
    if size == 0 {
        return Ok(out);
    }
    let (n, k, lda) = (dim(size)?, dim(inner)?, dim(cols.max(1))?);
    let (one, zero) = (1.0f64, 0.0f64);
    let out_slice = out.as_slice_memory_order_mut().ok_or(ProbeError::Layout)?;
    // SAFETY: `buffer` holds cols × rows values with leading dimension
    // `cols`, and `out_slice` holds size × size values; both outlive the call.
    unsafe {
        dsyrk_(
            &LOWER,
            &trans,
            &n,
            &k,
            &one,
            buffer.as_ptr(),
            &lda,
            &zero,
            out_slice.as_mut_ptr(),
            &n,
        );
    }
    for j in 0..size {
        for i in 0..j {
            out[[i, j]] = out[[j, i]];
        }
    }
    Ok(out)
}

/// A symmetric matrix reduced to tridiagonal form, `S = Q T Qᵀ`, by
/// LAPACK's `dsytrd`. `T` has `diagonal` and `off_diagonal`; `Q` is kept
/// as Householder reflectors in `reflectors` and `tau`.
pub struct Tridiagonal {
    reflectors: Array2<f64>,
    tau: Array1<f64>,
    pub diagonal: Array1<f64>,
    pub off_diagonal: Array1<f64>,
}

impl Tridiagonal {
    /// Reduces the symmetric column-major matrix `s` (consumed).
    pub fn reduce(mut s: Array2<f64>) -> Result<Tridiagonal, ProbeError> {
        let size = s.nrows();
        if s.ncols() != size || !s.t().is_standard_layout() {
            return Err(ProbeError::Layout);
        }
        let mut diagonal = Array1::<f64>::zeros(size);
        let mut off_diagonal = Array1::<f64>::zeros(size.saturating_sub(1).max(1));
        let mut tau = Array1::<f64>::zeros(size.saturating_sub(1).max(1));
        if size == 0 {
            return Ok(Tridiagonal { reflectors: s, tau, diagonal, off_diagonal });
        }
        let n = dim(size)?;
        let matrix = s.as_slice_memory_order_mut().ok_or(ProbeError::Layout)?;
        let mut info: c_int = 0;
        let mut query = 0.0f64;
        let minus_one: c_int = -1;
        // SAFETY: a workspace query (lwork = -1) only writes `query` and `info`.
        unsafe {
            dsytrd_(
                &LOWER,
                &n,
                matrix.as_mut_ptr(),
                &n,
                diagonal.as_mut_ptr(),
                off_diagonal.as_mut_ptr(),
                tau.as_mut_ptr(),
                &mut query,
                &minus_one,
                &mut info,
            );
        }
        check("dsytrd", info)?;
        let mut work = vec![0.0f64; (query as usize).max(1)];
        let lwork = dim(work.len())?;
        // SAFETY: every buffer has the size dsytrd documents for order n:
        // the matrix n × n, d n, e and tau n − 1 (at least 1), work lwork.
        unsafe {
            dsytrd_(
                &LOWER,
                &n,
                matrix.as_mut_ptr(),
                &n,
                diagonal.as_mut_ptr(),
                off_diagonal.as_mut_ptr(),
                tau.as_mut_ptr(),
                work.as_mut_ptr(),
                &lwork,
                &mut info,
            );
        }
        check("dsytrd", info)?;
        Ok(Tridiagonal { reflectors: s, tau, diagonal, off_diagonal })
    }

    pub fn order(&self) -> usize {
        self.diagonal.len()
    }

    /// Overwrites the column-major `c` (order × k) with `Qᵀ c`.
    pub fn apply_qt(&self, c: &mut Array2<f64>) -> Result<(), ProbeError> {
        self.apply(c, TRANSPOSE)
    }

    /// Overwrites the column-major `c` (order × k) with `Q c`.
    pub fn apply_q(&self, c: &mut Array2<f64>) -> Result<(), ProbeError> {
        self.apply(c, NO_TRANSPOSE)
    }

    fn apply(&self, c: &mut Array2<f64>, trans: c_char) -> Result<(), ProbeError> {
        let (rows, cols) = c.dim();
        if rows != self.order() || !c.t().is_standard_layout() {
            return Err(ProbeError::Layout);
        }
        if rows == 0 || cols == 0 {
            return Ok(());
        }
        let (m, n) = (dim(rows)?, dim(cols)?);
        let reflectors = self.reflectors.as_slice_memory_order().ok_or(ProbeError::Layout)?;
        let target = c.as_slice_memory_order_mut().ok_or(ProbeError::Layout)?;
        let mut info: c_int = 0;
        let mut query = 0.0f64;
        let minus_one: c_int = -1;
        // SAFETY: a workspace query (lwork = -1) only writes `query` and `info`.
        unsafe {
            dormtr_(
                &LEFT,
                &LOWER,
                &trans,
                &m,
                &n,
                reflectors.as_ptr(),
                &m,
                self.tau.as_ptr(),
                target.as_mut_ptr(),
                &m,
                &mut query,
                &minus_one,
                &mut info,
            );
        }
        check("dormtr", info)?;
        let mut work = vec![0.0f64; (query as usize).max(1)];
        let lwork = dim(work.len())?;
        // SAFETY: the reflectors and tau come from dsytrd of order m, the
        // target is m × n with leading dimension m, work has lwork values.
        unsafe {
            dormtr_(
                &LEFT,
                &LOWER,
                &trans,
                &m,
                &n,
                reflectors.as_ptr(),
                &m,
                self.tau.as_ptr(),
                target.as_mut_ptr(),
                &m,
                work.as_mut_ptr(),
                &lwork,
                &mut info,
            );
        }
        check("dormtr", info)
    }
}

fn check(routine: &'static str, info: c_int) -> Result<(), ProbeError> {
    if info == 0 {
        Ok(())
    } else {
        Err(ProbeError::Lapack { routine, info })
    }
}
