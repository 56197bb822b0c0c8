//! C declarations (to be written).
