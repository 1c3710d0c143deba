//! Black-box tests of the eventodb binary.
