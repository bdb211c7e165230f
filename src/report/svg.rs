//! Placeholder until the svg branch is merged.
pub struct TrendPoint {
    pub day: chrono::NaiveDate,
    pub open: u32,
    pub coverage: Option<f64>,
}
pub fn trend(_points: &[TrendPoint], _width: u32, _height: u32) -> String {
    String::new()
}
pub struct GraphNode {
    pub label: String,
    pub href: Option<String>,
    pub level: u32,
}
pub struct Neighbourhood {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<(usize, usize)>,
    pub more: usize,
}
pub fn blast_radius(_n: &Neighbourhood, _width: u32) -> String {
    String::new()
}
