//! What the HTML report pages draw (pure: data in, markup out).

pub mod svg;
