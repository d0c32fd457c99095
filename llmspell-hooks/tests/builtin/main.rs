//! Black-box tests of the built-in hooks, recorder, distributed context and
//! selective registry (one module per area).
