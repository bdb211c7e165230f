//! Inline SVG for the report pages: the trend of a target's open findings and
//! coverage ([`trend`]) and a drifted resource's blast radius ([`blast_radius`]).
//! Pure: data in, one `String` out, no IO and no dependency beyond `chrono`.
//!
//! The pages are served with `Content-Security-Policy: style-src 'self'` and
//! run no scripts, so the markup has no `style` attribute, no `<style>` and no
//! `<script>`. Looks come from presentation attributes (`fill`, `stroke`,
//! `stroke-width`, `font-size`, `text-anchor`), which any rule in the page
//! stylesheet overrides, and the page can target these class names:
//!
//! | class | on |
//! |---|---|
//! | `driftd-trend` | the trend's `<svg>`; with `empty` too when there are no scans |
//! | `legend` | the `<g>` of the trend's legend (its two sample lines carry `open` / `coverage`) |
//! | `grid` | the `<g>` of horizontal grid lines |
//! | `axis` | the `<g>` of axis lines and tick marks |
//! | `ticks-open`, `ticks-coverage`, `ticks-days` | the `<g>` of the left, right and bottom tick labels |
//! | `series open`, `series coverage` | each series' `<polyline>`, or `<circle>` for a lone point |
//! | `hover` | the `<g>` of invisible per-point areas whose `<title>` tells the values |
//! | `empty` | the "no scans yet" `<text>` |
//! | `driftd-blast` | the blast radius' `<svg>` |
//! | `levels` | the `<g>` of column headings ("drifted", "direct dependents", "2 steps away") |
//! | `edges` | the `<g>` of edge `<path>`s (the arrow head is a `<marker>` in `<defs>`) |
//! | `node` | a node's `<g>` (box, label, `<title>`); with `root` for the drifted resource, `more` for "+N more" |
//! | `caption` | the "nothing depends on it" `<text>` |
//!
//! Text and axes are drawn in `currentColor`, so the charts follow the page's
//! text colour, dark themes included. Every piece of text from data is
//! XML-escaped by [`escape`], and an href is emitted only when it is relative
//! or http(s) ([`safe_href`]).

use chrono::NaiveDate;
use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// One day of a target's history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendPoint {
    pub day: NaiveDate,
    /// Findings open at the end of the day.
    pub open: u32,
    /// The share of the target's resources the day's scans could read, 0.0 to
    /// 1.0; `None` when unknown (no complete listing), drawn as a gap. Values
    /// outside the range are clamped, NaN is a gap.
    pub coverage: Option<f64>,
}

/// A resource in a blast-radius drawing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphNode {
    /// A Terraform address such as `module.net.aws_subnet.a`.
    pub label: String,
    /// Where the node links to: relative (`/findings/f1`) or http(s); any
    /// other href (`javascript:`, `data:`) is dropped and the node not linked.
    pub href: Option<String>,
    /// Steps from the drifted resource: 0 is the drifted resource itself, 1
    /// its direct dependents, 2 theirs, and so on. One column per level.
    pub level: u32,
}

/// The drifted resource and the dependents shown around it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Neighbourhood {
    pub nodes: Vec<GraphNode>,
    /// `(from, to)`, indexes into `nodes`: `from` depends on `to`. The arrow is
    /// drawn the way a change spreads, from `to` to `from` (so from the root
    /// rightwards). Pairs naming a node that does not exist, and self-loops,
    /// are not drawn.
    pub edges: Vec<(usize, usize)>,
    /// Dependents left out of `nodes`, drawn as one "+N more" node.
    pub more: usize,
}

/// Smaller sizes are drawn at this size: below it the date labels collide.
const TREND_MIN_WIDTH: u32 = 240;
const TREND_MIN_HEIGHT: u32 = 120;
const OPEN_COLOUR: &str = "#2563eb";
const COVERAGE_COLOUR: &str = "#059669";
/// At least this far apart (px) for two date labels: an ISO date is about 62
/// px wide at 11 px, and the first and last are anchored at the plot's edges.
const DAY_LABEL_SPACING: f64 = 110.0;
/// Vertical room (px) per value tick.
const TICK_SPACING: f64 = 18.0;
/// Above the plot, for the legend.
const LEGEND_HEIGHT: f64 = 22.0;
/// Below the plot, for the dates.
const DAYS_HEIGHT: f64 = 24.0;
/// Right of the plot, for "100 %".
const COVERAGE_LABELS_WIDTH: f64 = 44.0;

/// The trend of a target: open findings (a line on the left axis, whole
/// numbers up to a round maximum) and coverage (a dashed line on the right
/// axis, 0 to 100 %, broken where it is unknown), over the days in `points`.
///
/// `points` are one a day, oldest first; each is drawn at its day, so days
/// without a scan are simply further apart. `width` and `height` are pixels,
/// at least 240 × 120. No points draws "no scans yet" at the same size, so a
/// page of many targets keeps its grid. O(n) in the points, written into one
/// `String` allocated up front (no allocation per point).
pub fn trend(points: &[TrendPoint], width: u32, height: u32) -> String {
    let width = f64::from(width.max(TREND_MIN_WIDTH));
    let height = f64::from(height.max(TREND_MIN_HEIGHT));
    let (Some(first_point), Some(last_point)) = (points.first(), points.last()) else {
        let mut out = String::with_capacity(512);
        open_svg(
            &mut out,
            "driftd-trend empty",
            width,
            height,
            "no scans yet",
        );
        let _ = writeln!(
            out,
            "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">no scans yet</text></svg>",
            Num(width / 2.0),
            Num(height / 2.0 + 4.0),
        );
        return out;
    };

    let mut first = first_point.day;
    let mut last = first_point.day;
    let mut max_open = 0;
    for point in points {
        first = first.min(point.day);
        last = last.max(point.day);
        max_open = max_open.max(point.open);
    }
    let plot_height = height - LEGEND_HEIGHT - DAYS_HEIGHT;
    let max_steps = ((plot_height / TICK_SPACING) as u64).clamp(1, 5);
    let (step, top) = open_scale(max_open, max_steps);
    // Room for the longest tick label, about 6.5 px a digit.
    let digits = top.checked_ilog10().unwrap_or(0) + 1;
    let plot = Plot {
        left: (12.0 + 6.5 * f64::from(digits)).max(28.0),
        right: width - COVERAGE_LABELS_WIDTH,
        top: LEGEND_HEIGHT,
        bottom: height - DAYS_HEIGHT,
        first,
        span_days: (last - first).num_days(),
    };

    let mut out = String::with_capacity(4096 + points.len() * 160);
    let mut label = format!("open findings and coverage, {first}");
    if last != first {
        let _ = write!(label, " to {last}");
    }
    label.push_str("; ");
    point_summary(&mut label, last_point);
    open_svg(&mut out, "driftd-trend", width, height, &label);
    trend_legend(&mut out, &plot);
    trend_axes(&mut out, &plot, step, top);
    open_series(&mut out, &plot, points, top);
    coverage_series(&mut out, &plot, points);
    hover_areas(&mut out, &plot, points);
    out.push_str("</svg>\n");
    out
}

/// Where the plot area is and how days and values map into it.
struct Plot {
    left: f64,
    right: f64,
    /// y of the largest value.
    top: f64,
    /// y of zero.
    bottom: f64,
    first: NaiveDate,
    span_days: i64,
}

impl Plot {
    fn x(&self, day: NaiveDate) -> f64 {
        if self.span_days == 0 {
            return (self.left + self.right) / 2.0;
        }
        let offset = (day - self.first).num_days() as f64 / self.span_days as f64;
        self.left + offset * (self.right - self.left)
    }

    /// y of `fraction` of the axis' height (0.0 at the bottom).
    fn y(&self, fraction: f64) -> f64 {
        self.bottom - fraction * (self.bottom - self.top)
    }
}

/// The step and the top of the open-findings axis: the smallest step of 1,
/// 2, 2.5 (from 25 up: ticks stay whole) or 5 times a power of ten that
/// reaches `max_open` (at least 1) in at most `max_steps` steps.
fn open_scale(max_open: u32, max_steps: u64) -> (u64, u64) {
    let max = u64::from(max_open).max(1);
    let mut magnitude = 1;
    loop {
        // For a magnitude of 1, 2.5 rounds down to 2: tried twice, whole ticks.
        for step in [magnitude, 2 * magnitude, magnitude * 5 / 2, 5 * magnitude] {
            let steps = max.div_ceil(step);
            if steps <= max_steps {
                return (step, steps * step);
            }
        }
        magnitude *= 10;
    }
}

fn trend_legend(out: &mut String, plot: &Plot) {
    let coverage_text_left = plot.right - 50.0;
    let _ = writeln!(
        out,
        "<g class=\"legend\" stroke-width=\"2\">\
         <line class=\"open\" x1=\"{l}\" y1=\"9\" x2=\"{l2}\" y2=\"9\" stroke=\"{OPEN_COLOUR}\"/>\
         <text x=\"{lt}\" y=\"13\">open findings</text>\
         <line class=\"coverage\" x1=\"{c}\" y1=\"9\" x2=\"{c2}\" y2=\"9\" stroke=\"{COVERAGE_COLOUR}\" stroke-dasharray=\"5 3\"/>\
         <text x=\"{ct}\" y=\"13\">coverage</text></g>",
        l = Num(plot.left),
        l2 = Num(plot.left + 16.0),
        lt = Num(plot.left + 20.0),
        c = Num(coverage_text_left - 20.0),
        c2 = Num(coverage_text_left - 4.0),
        ct = Num(coverage_text_left),
    );
}

/// Grid lines, axis lines, tick marks and tick labels: open findings on the
/// left, coverage on the right, days along the bottom.
fn trend_axes(out: &mut String, plot: &Plot, step: u64, top: u64) {
    let (left, right, bottom) = (Num(plot.left), Num(plot.right), Num(plot.bottom));
    let open_ticks = (0..=top).step_by(step as usize);
    let coverage_step = match plot.bottom - plot.top {
        h if h >= 4.0 * TICK_SPACING => 25,
        h if h >= 2.0 * TICK_SPACING => 50,
        _ => 100,
    };
    let coverage_ticks = (0..=100).step_by(coverage_step);
    let days = day_ticks(plot);

    out.push_str("<g class=\"grid\" stroke=\"currentColor\" stroke-opacity=\"0.15\">\n");
    for value in open_ticks.clone().skip(1) {
        let y = Num(plot.y(value as f64 / top as f64));
        let _ = writeln!(
            out,
            "<line x1=\"{left}\" y1=\"{y}\" x2=\"{right}\" y2=\"{y}\"/>"
        );
    }
    out.push_str("</g>\n");

    let _ = writeln!(
        out,
        "<g class=\"axis\" stroke=\"currentColor\" stroke-opacity=\"0.5\">\
         <path fill=\"none\" d=\"M{left},{t}V{bottom}H{right}V{t}\"/>",
        t = Num(plot.top),
    );
    for percent in coverage_ticks.clone() {
        let y = Num(plot.y(f64::from(percent) / 100.0));
        let _ = writeln!(
            out,
            "<line x1=\"{right}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>",
            Num(plot.right + 4.0)
        );
    }
    for &(day, _) in &days {
        let x = Num(plot.x(day));
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{bottom}\" x2=\"{x}\" y2=\"{}\"/>",
            Num(plot.bottom + 4.0)
        );
    }
    out.push_str("</g>\n");

    out.push_str("<g class=\"ticks-open\" text-anchor=\"end\">\n");
    for value in open_ticks {
        let y = Num(plot.y(value as f64 / top as f64) + 4.0);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{y}\">{value}</text>",
            Num(plot.left - 6.0)
        );
    }
    out.push_str("</g>\n<g class=\"ticks-coverage\">\n");
    for percent in coverage_ticks {
        let y = Num(plot.y(f64::from(percent) / 100.0) + 4.0);
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{y}\">{percent} %</text>",
            Num(plot.right + 6.0)
        );
    }
    out.push_str("</g>\n<g class=\"ticks-days\">\n");
    for (day, anchor) in days {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{day}</text>",
            Num(plot.x(day)),
            Num(plot.bottom + 17.0),
        );
    }
    out.push_str("</g>\n");
}

/// The days labelled along the bottom, with their `text-anchor`: the first
/// (anchored at its start) and the last (at its end), and between them days a
/// whole number of days apart, at least [`DAY_LABEL_SPACING`] px from each
/// other and from the ends.
fn day_ticks(plot: &Plot) -> Vec<(NaiveDate, &'static str)> {
    let mut days = vec![(plot.first, "start")];
    if plot.span_days == 0 {
        days[0].1 = "middle";
        return days;
    }
    let plot_width = plot.right - plot.left;
    let px_per_day = plot_width / plot.span_days as f64;
    let most_labels = (plot_width / DAY_LABEL_SPACING) as i64;
    if most_labels >= 2 {
        let step = (plot.span_days as f64 / most_labels as f64).ceil() as i64;
        let step = step.max((DAY_LABEL_SPACING / px_per_day).ceil() as i64);
        let mut offset = step;
        while (plot.span_days - offset) as f64 * px_per_day >= DAY_LABEL_SPACING {
            days.push((plot.first + chrono::Days::new(offset as u64), "middle"));
            offset += step;
        }
    }
    days.push((plot.first + chrono::Days::new(plot.span_days as u64), "end"));
    days
}

fn open_series(out: &mut String, plot: &Plot, points: &[TrendPoint], top: u64) {
    let xy = |point: &TrendPoint| {
        (
            Num(plot.x(point.day)),
            Num(plot.y(f64::from(point.open) / top as f64)),
        )
    };
    if let [point] = points {
        let (x, y) = xy(point);
        let _ = writeln!(
            out,
            "<circle class=\"series open\" cx=\"{x}\" cy=\"{y}\" r=\"3\" fill=\"{OPEN_COLOUR}\"/>"
        );
        return;
    }
    let _ = write!(
        out,
        "<polyline class=\"series open\" fill=\"none\" stroke=\"{OPEN_COLOUR}\" \
         stroke-width=\"2\" stroke-linejoin=\"round\" points=\""
    );
    for (i, point) in points.iter().enumerate() {
        let (x, y) = xy(point);
        let gap = if i == 0 { "" } else { " " };
        let _ = write!(out, "{gap}{x},{y}");
    }
    out.push_str("\"/>\n");
}

/// Coverage as one polyline per run of known days, and a dot for a known day
/// between two unknown ones: an unknown day is a gap, never a zero.
fn coverage_series(out: &mut String, plot: &Plot, points: &[TrendPoint]) {
    /// Ends the current run: a dot when it has one point, else closes its polyline.
    fn end_run(out: &mut String, run: usize, first: (Num, Num)) {
        match run {
            0 => {}
            1 => {
                let _ = writeln!(
                    out,
                    "<circle class=\"series coverage\" cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{COVERAGE_COLOUR}\"/>",
                    first.0, first.1
                );
            }
            _ => out.push_str("\"/>\n"),
        }
    }
    let mut run = 0;
    let mut first = (Num(0.0), Num(0.0));
    for point in points {
        let Some(coverage) = known_coverage(point) else {
            end_run(out, run, first);
            run = 0;
            continue;
        };
        let xy = (Num(plot.x(point.day)), Num(plot.y(coverage)));
        match run {
            0 => first = xy,
            1 => {
                let _ = write!(
                    out,
                    "<polyline class=\"series coverage\" fill=\"none\" stroke=\"{COVERAGE_COLOUR}\" \
                     stroke-width=\"2\" stroke-dasharray=\"5 3\" stroke-linejoin=\"round\" \
                     points=\"{},{} {},{}",
                    first.0, first.1, xy.0, xy.1
                );
            }
            _ => {
                let _ = write!(out, " {},{}", xy.0, xy.1);
            }
        }
        run += 1;
    }
    end_run(out, run, first);
}

/// An invisible column per point, from halfway to the point before to halfway
/// to the one after, whose `<title>` is the day's values (a tooltip on hover).
fn hover_areas(out: &mut String, plot: &Plot, points: &[TrendPoint]) {
    out.push_str("<g class=\"hover\" fill=\"none\" pointer-events=\"all\">\n");
    let (top, height) = (Num(plot.top), Num(plot.bottom - plot.top));
    let mut start = plot.left;
    for (i, point) in points.iter().enumerate() {
        let x = plot.x(point.day);
        let end = match points.get(i + 1) {
            Some(next) => (x + plot.x(next.day)) / 2.0,
            None => plot.right,
        };
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{top}\" width=\"{}\" height=\"{height}\"><title>",
            Num(start),
            Num((end - start).max(0.0)),
        );
        point_summary(out, point);
        out.push_str("</title></rect>\n");
        start = end;
    }
    out.push_str("</g>\n");
}

/// Appends "2024-05-01: 3 open findings, coverage 87.5 %": only digits,
/// dates and fixed words, so it needs no escaping.
fn point_summary(out: &mut String, point: &TrendPoint) {
    let findings = if point.open == 1 {
        "finding"
    } else {
        "findings"
    };
    let _ = write!(
        out,
        "{}: {} open {findings}, coverage ",
        point.day, point.open
    );
    match known_coverage(point) {
        Some(coverage) => {
            let _ = write!(out, "{} %", Num(coverage * 100.0));
        }
        None => out.push_str("unknown"),
    }
}

fn known_coverage(point: &TrendPoint) -> Option<f64> {
    point
        .coverage
        .filter(|c| !c.is_nan())
        .map(|c| c.clamp(0.0, 1.0))
}

/// Node boxes: label font and geometry. The label is monospace, so its width
/// is known: 0.6 em a character.
const NODE_FONT: f64 = 12.0;
const CHAR_WIDTH: f64 = NODE_FONT * 0.6;
const BOX_HEIGHT: f64 = 28.0;
const BOX_PADDING: f64 = 8.0;
const ROW_GAP: f64 = 12.0;
/// Between columns: room for the arrows.
const COLUMN_GAP: f64 = 56.0;
const MARGIN: f64 = 8.0;
/// A label longer than this is cut in the middle.
const LABEL_CHARS: usize = 40;
/// Columns never get narrower than this many characters of label; the
/// drawing grows wider than asked instead.
const MIN_LABEL_CHARS: usize = 12;
const HEADINGS_HEIGHT: f64 = 20.0;
const CAPTION_HEIGHT: f64 = 22.0;

/// The blast radius of a drifted resource, laid out left to right: a column
/// per level (the root first), each column's nodes sorted by label and
/// centred on the tallest column, arrows from each resource to the ones that
/// depend on it. A node with an href is a link; labels longer than 40
/// characters (or than the column fits) lose their middle, and each node's
/// `<title>` has its full label. `more > 0` adds "+N more" at the foot of the
/// last column; nothing but a root is captioned "nothing depends on it".
///
/// `width` is pixels; it grows when the columns would not fit 12 characters
/// of label. The height follows from the tallest column. `id_prefix` makes
/// the arrow marker's id unique on a page with several drawings (characters
/// other than ASCII letters, digits, `-` and `_` become `_`).
pub fn blast_radius(n: &Neighbourhood, width: u32, id_prefix: &str) -> String {
    let layout = Layout::new(n, width);
    let mut places: Vec<Option<Place>> = vec![None; n.nodes.len()];
    for (c, column) in layout.columns.iter().enumerate() {
        for (row, &i) in column.iter().enumerate() {
            places[i] = Some(layout.place(c, row));
        }
    }
    let root = layout
        .columns
        .first()
        .and_then(|column| column.first())
        .filter(|&&i| n.nodes[i].level == 0)
        .map(|&i| n.nodes[i].label.as_str());
    let dependents = n.nodes.iter().filter(|node| node.level > 0).count();
    let label = match (root, layout.lonely) {
        (Some(root), true) => format!("{root}: nothing depends on it"),
        (Some(root), false) => format!(
            "blast radius of {root}: {}",
            count_dependents(dependents, n.more)
        ),
        (None, _) => format!("blast radius: {}", count_dependents(dependents, n.more)),
    };

    let mut out = String::with_capacity(1024 + n.nodes.len() * 400 + n.edges.len() * 80);
    open_svg(
        &mut out,
        "driftd-blast",
        layout.width,
        layout.height,
        &label,
    );
    level_headings(&mut out, &layout);

    let edges: Vec<(Place, Place)> = n
        .edges
        .iter()
        .filter(|(from, to)| from != to)
        .filter_map(|&(from, to)| Some((places.get(to).copied()??, places.get(from).copied()??)))
        .collect();
    if !edges.is_empty() {
        let marker = marker_id(id_prefix);
        let _ = writeln!(
            out,
            "<defs><marker id=\"{marker}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerUnits=\"userSpaceOnUse\" markerWidth=\"9\" markerHeight=\"9\" orient=\"auto\">\
             <path d=\"M0,0L10,5L0,10z\" fill=\"currentColor\" fill-opacity=\"0.7\"/></marker></defs>\n\
             <g class=\"edges\" fill=\"none\" stroke=\"currentColor\" stroke-opacity=\"0.6\" \
             stroke-width=\"1.5\" marker-end=\"url(#{marker})\">"
        );
        for (dependency, dependent) in edges {
            edge_path(&mut out, dependency, dependent, layout.box_width);
        }
        out.push_str("</g>\n");
    }

    let _ = writeln!(
        out,
        "<g class=\"nodes\" font-family=\"monospace\" font-size=\"{NODE_FONT}\" text-anchor=\"middle\">"
    );
    for &i in layout.columns.iter().flatten() {
        if let Some(place) = places[i] {
            node_box(&mut out, &n.nodes[i], place, &layout);
        }
    }
    if let Some(column) = layout.more_column {
        let place = layout.place(column, layout.columns[column].len());
        let _ = writeln!(
            out,
            "<g class=\"node more\"><title>{more} more not shown</title>\
             <rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{BOX_HEIGHT}\" rx=\"4\" fill=\"none\" \
             stroke=\"currentColor\" stroke-opacity=\"0.5\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{tx}\" y=\"{ty}\">+{more} more</text></g>",
            more = n.more,
            x = Num(place.x),
            y = Num(place.y),
            w = Num(layout.box_width),
            tx = Num(place.x + layout.box_width / 2.0),
            ty = Num(place.y + BOX_HEIGHT / 2.0 + 4.0),
        );
    }
    out.push_str("</g>\n");

    if layout.lonely {
        let caption = if root.is_some() {
            "nothing depends on it"
        } else {
            "nothing to show"
        };
        let _ = writeln!(
            out,
            "<text class=\"caption\" x=\"{}\" y=\"{}\" fill-opacity=\"0.7\">{caption}</text>",
            Num(MARGIN),
            Num(layout.height - MARGIN - 6.0),
        );
    }
    out.push_str("</svg>\n");
    out
}

/// Where everything in a blast-radius drawing goes.
struct Layout {
    /// The level each column shows, ascending.
    levels: Vec<u32>,
    /// Indexes into the nodes, a column per level, each sorted by label.
    columns: Vec<Vec<usize>>,
    /// The column "+N more" ends, when there are more.
    more_column: Option<usize>,
    /// Nothing but the root (or nothing at all): captioned, not drawn as a graph.
    lonely: bool,
    most_rows: usize,
    box_width: f64,
    /// How many characters of a label fit in a box.
    label_chars: usize,
    /// Above the boxes, for the column headings (none for a single column).
    headings: f64,
    width: f64,
    height: f64,
}

impl Layout {
    fn new(n: &Neighbourhood, width: u32) -> Layout {
        let nodes = &n.nodes;
        let mut levels: Vec<u32> = nodes.iter().map(|node| node.level).collect();
        levels.sort_unstable();
        levels.dedup();
        let mut columns: Vec<Vec<usize>> = vec![Vec::new(); levels.len()];
        for (i, node) in nodes.iter().enumerate() {
            if let Ok(column) = levels.binary_search(&node.level) {
                columns[column].push(i);
            }
        }
        for column in &mut columns {
            column.sort_by(|&a, &b| nodes[a].label.cmp(&nodes[b].label).then(a.cmp(&b)));
        }
        let more_column = (n.more > 0).then(|| {
            if columns.len() < 2 {
                levels.push(levels.last().map_or(1, |level| level + 1));
                columns.push(Vec::new());
            }
            columns.len() - 1
        });
        let lonely = more_column.is_none() && levels.iter().all(|&level| level == 0);

        let column_count = columns.len().max(1) as f64;
        let max_box = LABEL_CHARS as f64 * CHAR_WIDTH + 2.0 * BOX_PADDING;
        let min_box = MIN_LABEL_CHARS as f64 * CHAR_WIDTH + 2.0 * BOX_PADDING;
        let available = f64::from(width) - 2.0 * MARGIN;
        let box_width =
            ((available + COLUMN_GAP) / column_count - COLUMN_GAP).clamp(min_box, max_box);
        let needed = 2.0 * MARGIN + column_count * (box_width + COLUMN_GAP) - COLUMN_GAP;
        let headings = if columns.len() > 1 {
            HEADINGS_HEIGHT
        } else {
            0.0
        };
        let caption = if lonely { CAPTION_HEIGHT } else { 0.0 };
        let mut layout = Layout {
            levels,
            columns,
            more_column,
            lonely,
            most_rows: 1,
            box_width,
            label_chars: (((box_width - 2.0 * BOX_PADDING) / CHAR_WIDTH) as usize).min(LABEL_CHARS),
            headings,
            width: f64::from(width).max(needed),
            height: 0.0,
        };
        layout.most_rows = (0..layout.columns.len())
            .map(|c| layout.rows(c))
            .max()
            .unwrap_or(0)
            .max(1);
        let body = layout.most_rows as f64 * (BOX_HEIGHT + ROW_GAP) - ROW_GAP;
        layout.height = 2.0 * MARGIN + headings + body + caption;
        layout
    }

    fn rows(&self, column: usize) -> usize {
        self.columns[column].len() + usize::from(self.more_column == Some(column))
    }

    /// The box in `row` of `column`; a column shorter than the tallest is
    /// centred on it.
    fn place(&self, column: usize, row: usize) -> Place {
        let row_pitch = BOX_HEIGHT + ROW_GAP;
        let centring = (self.most_rows - self.rows(column)) as f64 * row_pitch / 2.0;
        Place {
            column,
            x: MARGIN + column as f64 * (self.box_width + COLUMN_GAP),
            y: MARGIN + self.headings + centring + row as f64 * row_pitch,
        }
    }
}

/// "drifted", "direct dependents", "2 steps away", ... over the columns.
fn level_headings(out: &mut String, layout: &Layout) {
    if layout.columns.len() < 2 {
        return;
    }
    out.push_str("<g class=\"levels\" fill-opacity=\"0.7\">\n");
    for (c, level) in layout.levels.iter().enumerate() {
        let x = Num(layout.place(c, 0).x);
        let _ = write!(out, "<text x=\"{x}\" y=\"{}\">", Num(MARGIN + 11.0));
        match level {
            0 => out.push_str("drifted"),
            1 => out.push_str("direct dependents"),
            _ => {
                let _ = write!(out, "{level} steps away");
            }
        }
        out.push_str("</text>\n");
    }
    out.push_str("</g>\n");
}

/// The arrow marker's id: `driftd-{id_prefix}-arrow`, with every character
/// of the prefix that is not an ASCII letter, digit, `-` or `_` made `_`.
fn marker_id(id_prefix: &str) -> String {
    let mut id = String::from("driftd-");
    id.extend(id_prefix.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        }
    }));
    id.push_str("-arrow");
    id
}

/// A node's box: its column, and its top-left corner.
#[derive(Debug, Clone, Copy)]
struct Place {
    column: usize,
    x: f64,
    y: f64,
}

fn count_dependents(shown: usize, more: usize) -> String {
    let noun = if shown == 1 {
        "dependent"
    } else {
        "dependents"
    };
    match more {
        0 => format!("{shown} {noun}"),
        _ => format!("{shown} {noun} shown, {more} more"),
    }
}

/// A curve from the box depended on to the box of its dependent, where the
/// arrow head is: right side to left side between columns (either way), and
/// a bulge to the right within one column.
fn edge_path(out: &mut String, dependency: Place, dependent: Place, box_width: f64) {
    let (start_y, end_y) = (
        dependency.y + BOX_HEIGHT / 2.0,
        dependent.y + BOX_HEIGHT / 2.0,
    );
    let (start_x, end_x, control_start, control_end) = if dependency.column == dependent.column {
        let side = dependency.x + box_width;
        (side, side, side + COLUMN_GAP / 2.0, side + COLUMN_GAP / 2.0)
    } else {
        let forward = dependency.column < dependent.column;
        let start_x = if forward {
            dependency.x + box_width
        } else {
            dependency.x
        };
        let end_x = if forward {
            dependent.x
        } else {
            dependent.x + box_width
        };
        let middle = (start_x + end_x) / 2.0;
        (start_x, end_x, middle, middle)
    };
    let _ = writeln!(
        out,
        "<path d=\"M{},{}C{},{} {},{} {},{}\"/>",
        Num(start_x),
        Num(start_y),
        Num(control_start),
        Num(start_y),
        Num(control_end),
        Num(end_y),
        Num(end_x),
        Num(end_y),
    );
}

fn node_box(out: &mut String, node: &GraphNode, place: Place, layout: &Layout) {
    let (box_width, label_chars) = (layout.box_width, layout.label_chars);
    let href = node.href.as_deref().and_then(safe_href);
    if let Some(href) = href {
        out.push_str("<a href=\"");
        escape(out, href);
        out.push_str("\">");
    }
    let (class, look) = if node.level == 0 {
        (
            "node root",
            "fill=\"#f59e0b\" fill-opacity=\"0.25\" stroke=\"#b45309\" stroke-width=\"2\"",
        )
    } else {
        (
            "node",
            "fill=\"currentColor\" fill-opacity=\"0.06\" stroke=\"currentColor\" stroke-opacity=\"0.5\"",
        )
    };
    let _ = write!(out, "<g class=\"{class}\"><title>");
    escape(out, &node.label);
    let _ = write!(
        out,
        "</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{BOX_HEIGHT}\" rx=\"4\" {look}/>\
         <text x=\"{}\" y=\"{}\"{}>",
        Num(place.x),
        Num(place.y),
        Num(box_width),
        Num(place.x + box_width / 2.0),
        Num(place.y + BOX_HEIGHT / 2.0 + 4.0),
        if href.is_some() {
            " text-decoration=\"underline\""
        } else {
            ""
        },
    );
    escape(out, &middle_ellipsis(&node.label, label_chars));
    out.push_str("</text></g>");
    if href.is_some() {
        out.push_str("</a>");
    }
    out.push('\n');
}

/// `label` cut to `max` characters by replacing its middle with "…": an
/// address keeps the start of its module path (up to a dot when one is near)
/// and, in the larger part, its end: the type, name and key.
fn middle_ellipsis(label: &str, max: usize) -> Cow<'_, str> {
    let count = label.chars().count();
    if count <= max {
        return Cow::Borrowed(label);
    }
    let kept = max.saturating_sub(1);
    let mut head = kept * 2 / 5;
    // End the head after a dot when one is near: `module.net.…` reads
    // better than `module.net.a…`; the tail gets what the head gives up.
    let last_dot = label
        .chars()
        .take(head)
        .enumerate()
        .filter(|&(_, c)| c == '.')
        .last();
    if let Some((dot, _)) = last_dot.filter(|&(dot, _)| dot + 1 >= head / 2) {
        head = dot + 1;
    }
    let tail = kept - head;
    let mut cut = String::with_capacity(label.len());
    cut.extend(label.chars().take(head));
    cut.push('…');
    cut.extend(label.chars().skip(count - tail));
    Cow::Owned(cut)
}

/// The opening `<svg>` tag, its size both as attributes and as the viewBox,
/// and `label` (escaped here) as what a screen reader says.
fn open_svg(out: &mut String, class: &str, width: f64, height: f64, label: &str) {
    let (width, height) = (Num(width), Num(height));
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\""
    );
    escape(out, label);
    out.push_str("\" font-family=\"sans-serif\" font-size=\"11\" fill=\"currentColor\">\n");
}

/// Appends `text` made safe for XML text and for double- or single-quoted
/// attribute values. A control character XML 1.0 does not allow (all of
/// C0 but tab, line feed and carriage return) becomes U+FFFD, so a standalone
/// `.svg` stays well-formed.
fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// `href` when it may be a link: relative (no scheme: `/findings/f1`,
/// `f1?a=1`, `#top`) or http(s). Any other scheme (`javascript:`, `data:`) is
/// refused, and so is an href with white space or control characters, which
/// browsers strip before they read the scheme (`java\tscript:`).
fn safe_href(href: &str) -> Option<&str> {
    if href.is_empty() || href.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    match href.find([':', '/', '?', '#']) {
        Some(i) if href[i..].starts_with(':') => {
            let scheme = &href[..i];
            (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
                .then_some(href)
        }
        _ => Some(href),
    }
}

/// A coordinate or percentage with at most one decimal (`12`, `12.5`): short,
/// and the same bytes on every platform.
#[derive(Debug, Clone, Copy)]
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tenths = (self.0 * 10.0).round() as i64;
        if tenths < 0 {
            f.write_str("-")?;
        }
        let tenths = tenths.unsigned_abs();
        match tenths % 10 {
            0 => write!(f, "{}", tenths / 10),
            decimal => write!(f, "{}.{decimal}", tenths / 10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn day(offset: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 3, 1).unwrap() + chrono::Days::new(offset)
    }

    /// Two months of one target: open findings rising and falling, coverage
    /// unknown for three days in a row and then for one day alone.
    fn sample_points(count: u64) -> Vec<TrendPoint> {
        (0..count)
            .map(|i| TrendPoint {
                day: day(i),
                open: ((i * 7) % 13 + i / 6) as u32,
                coverage: match i {
                    20..=22 | 40 => None,
                    _ => Some(0.72 + (i % 5) as f64 * 0.06),
                },
            })
            .collect()
    }

    fn node(label: &str, level: u32, href: Option<&str>) -> GraphNode {
        GraphNode {
            label: label.to_string(),
            href: href.map(str::to_string),
            level,
        }
    }

    /// A drifted VPC, what depends on it and what depends on those.
    fn sample_neighbourhood() -> Neighbourhood {
        Neighbourhood {
            nodes: vec![
                node("module.net.aws_vpc.main", 0, Some("/findings/f-vpc")),
                node(
                    "module.net.aws_subnet.private[\"eu-west-1a\"]",
                    1,
                    Some("/resources/2"),
                ),
                node("module.net.aws_subnet.private[\"eu-west-1b\"]", 1, None),
                node(
                    "aws_security_group.web",
                    1,
                    Some("https://console.example/sg?id=1&r=eu"),
                ),
                node("module.app.aws_instance.web[0]", 2, None),
                node("module.app.aws_instance.web[1]", 2, None),
                node(
                    "module.platform.module.eks.aws_eks_node_group.workers[\"general-purpose-large\"]",
                    2,
                    Some("/resources/9"),
                ),
                node("module.db.aws_db_subnet_group.main", 2, None),
            ],
            edges: vec![
                (1, 0),
                (2, 0),
                (3, 0),
                (4, 1),
                (5, 2),
                (4, 3),
                (5, 3),
                (6, 1),
                (6, 2),
                (7, 1),
            ],
            more: 5,
        }
    }

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        escape(&mut out, text);
        out
    }

    /// What the tests need of XML: one root `<svg>`, every tag closed in
    /// order, attributes double-quoted and never repeated, no `>` in text or
    /// attribute values and `&` only in the entities `escape` writes; and no
    /// event handler attribute (`onerror=`), which text may spell but markup
    /// must not.
    fn well_formed(svg: &str) -> Result<(), String> {
        fn check_text(text: &str) -> Result<(), String> {
            if text.contains('>') {
                return Err(format!("raw > in {text:?}"));
            }
            for (i, _) in text.match_indices('&') {
                let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"];
                if !entity.iter().any(|e| text[i..].starts_with(e)) {
                    return Err(format!("bare & in {text:?}"));
                }
            }
            Ok(())
        }
        let is_name = |name: &str| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':')
        };
        let mut open: Vec<&str> = Vec::new();
        let mut roots = 0;
        let mut rest = svg;
        while let Some(lt) = rest.find('<') {
            let text = &rest[..lt];
            check_text(text)?;
            if open.is_empty() && !text.trim().is_empty() {
                return Err(format!("text outside the root: {text:?}"));
            }
            rest = &rest[lt + 1..];
            if let Some(after) = rest.strip_prefix('/') {
                let gt = after.find('>').ok_or("an end tag is not closed")?;
                let name = &after[..gt];
                match open.pop() {
                    Some(top) if top == name => {}
                    top => return Err(format!("</{name}> closes {top:?}")),
                }
                rest = &after[gt + 1..];
                continue;
            }
            let name_end = rest
                .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
                .ok_or("a tag is not closed")?;
            let name = &rest[..name_end];
            if !is_name(name) {
                return Err(format!("bad tag name {name:?}"));
            }
            if open.is_empty() {
                roots += 1;
                if name != "svg" {
                    return Err(format!("root <{name}>"));
                }
            }
            rest = &rest[name_end..];
            let mut attributes = Vec::new();
            loop {
                rest = rest.trim_start();
                if let Some(after) = rest.strip_prefix("/>") {
                    rest = after;
                    break;
                }
                if let Some(after) = rest.strip_prefix('>') {
                    open.push(name);
                    rest = after;
                    break;
                }
                let equals = rest
                    .find("=\"")
                    .ok_or_else(|| format!("<{name}>: no attribute value"))?;
                let attribute = &rest[..equals];
                if !is_name(attribute)
                    || attributes.contains(&attribute)
                    || attribute.starts_with("on")
                {
                    return Err(format!(
                        "<{name}>: bad, repeated or handler attribute {attribute:?}"
                    ));
                }
                attributes.push(attribute);
                let value_on = &rest[equals + 2..];
                let quote = value_on
                    .find('"')
                    .ok_or("an attribute value is not closed")?;
                let value = &value_on[..quote];
                if value.contains('<') {
                    return Err(format!("< in attribute {attribute}={value:?}"));
                }
                check_text(value)?;
                rest = &value_on[quote + 1..];
                if !(rest.starts_with([' ', '\n', '>']) || rest.starts_with("/>")) {
                    return Err(format!(
                        "<{name}>: nothing between attributes after {attribute}"
                    ));
                }
            }
        }
        check_text(rest)?;
        match (open.as_slice(), roots, rest.trim()) {
            ([], 1, "") => Ok(()),
            (open, roots, rest) => Err(format!(
                "open at the end: {open:?}, {roots} roots, then {rest:?}"
            )),
        }
    }

    /// Well-formed, and nothing the page's Content-Security-Policy refuses or
    /// a browser runs: no `style` attribute or element, no script, no event
    /// handler attribute, no `javascript:` anywhere.
    fn assert_safe(svg: &str) {
        if let Err(problem) = well_formed(svg) {
            panic!("{problem}\n{svg}");
        }
        let lower = svg.to_ascii_lowercase();
        for banned in [
            "style=",
            "<style",
            "<script",
            "<foreignobject",
            "javascript:",
        ] {
            assert!(!lower.contains(banned), "{banned} in\n{svg}");
        }
    }

    /// Edge paths: one a line (the marker's path is on the `<defs>` line).
    fn edge_count(svg: &str) -> usize {
        svg.lines()
            .filter(|line| line.starts_with("<path d=\"M"))
            .count()
    }

    /// Compares `actual` with `tests/golden/svg/{name}` byte for byte.
    /// `DRIFTD_BLESS=1 cargo test --lib report::svg` writes the files from the
    /// current output instead: look at them (`rsvg-convert`) before committing.
    fn golden(name: &str, actual: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden/svg")
            .join(name);
        if std::env::var_os("DRIFTD_BLESS").is_some_and(|bless| bless == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (DRIFTD_BLESS=1 writes it)", path.display()));
        assert!(
            expected == actual,
            "{} is not what is rendered now; if the change is meant, \
             DRIFTD_BLESS=1 cargo test --lib report::svg rewrites it",
            path.display()
        );
    }

    #[test]
    fn the_markup_check_can_fail() {
        assert_eq!(
            well_formed("<svg a=\"1\"><g>x &amp; y</g><line/></svg>\n"),
            Ok(())
        );
        for broken in [
            "<svg><g></svg>",
            "<svg><g></g>",
            "<svg a=\"1\" a=\"2\"/>",
            "<svg>a & b</svg>",
            "<svg>a > b</svg>",
            "<svg><rect onclick=\"x\"/></svg>",
            "<svg/><svg/>",
            "<g/>",
            "<svg a=1/>",
            "<svg a=\"1\"b=\"2\"/>",
        ] {
            assert!(well_formed(broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn escape_makes_hostile_text_inert() {
        assert_eq!(
            escaped("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escaped("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(escaped("a & b 'c'"), "a &amp; b &#39;c&#39;");
        assert_eq!(
            escaped("tab\tnul\0bell\u{7}"),
            "tab\tnul\u{FFFD}bell\u{FFFD}"
        );
        assert_eq!(
            escaped("aws_instance.x[\"ключ\"]"),
            "aws_instance.x[&quot;ключ&quot;]"
        );
    }

    #[test]
    fn only_relative_and_http_hrefs_are_links() {
        for kept in [
            "/findings/f1",
            "findings/f1?a=1&b=2",
            "#top",
            "?page=2",
            "https://console.example/x",
            "HTTP://example.com",
            "/a:b",
        ] {
            assert_eq!(safe_href(kept), Some(kept));
        }
        for dropped in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "\"><img src=x onerror=alert(1)>",
            "",
        ] {
            assert_eq!(safe_href(dropped), None, "{dropped:?}");
        }
    }

    #[test]
    fn numbers_have_at_most_one_decimal() {
        let shown: Vec<String> = [0.0, -0.04, 12.0, 12.25, 12.96, -3.5, 0.05]
            .iter()
            .map(|&v| Num(v).to_string())
            .collect();
        assert_eq!(shown, ["0", "0", "12", "12.3", "13", "-3.5", "0.1"]);
    }

    #[test]
    fn the_open_axis_ends_on_a_round_number() {
        assert_eq!(open_scale(0, 5), (1, 1));
        assert_eq!(open_scale(3, 5), (1, 3));
        assert_eq!(open_scale(7, 5), (2, 8));
        assert_eq!(open_scale(13, 5), (5, 15));
        assert_eq!(open_scale(100, 5), (20, 100));
        assert_eq!(open_scale(101, 5), (25, 125));
        assert_eq!(open_scale(108, 4), (50, 150));
        assert_eq!(open_scale(11, 5), (5, 15));
        assert_eq!(open_scale(7, 2), (5, 10));
        assert_eq!(open_scale(u32::MAX, 5), (1_000_000_000, 5_000_000_000));
    }

    #[test]
    fn no_scans_is_said_not_drawn() {
        let svg = trend(&[], 320, 140);
        assert_safe(&svg);
        assert!(svg.contains(">no scans yet</text>"));
        assert!(svg.contains("aria-label=\"no scans yet\""));
        assert!(!svg.contains("<polyline") && !svg.contains("<circle"));
    }

    #[test]
    fn one_point_is_a_dot() {
        let point = TrendPoint {
            day: day(0),
            open: 4,
            coverage: Some(0.5),
        };
        let svg = trend(&[point], 320, 140);
        assert_safe(&svg);
        assert!(!svg.contains("<polyline"), "{svg}");
        assert_eq!(svg.matches("<circle class=\"series open\"").count(), 1);
        assert_eq!(svg.matches("<circle class=\"series coverage\"").count(), 1);
        assert!(svg.contains("text-anchor=\"middle\">2024-03-01</text>"));
        assert!(svg.contains("<title>2024-03-01: 4 open findings, coverage 50 %</title>"));
    }

    #[test]
    fn unknown_coverage_breaks_the_line() {
        let points = sample_points(60);
        let svg = trend(&points, 640, 200);
        assert_safe(&svg);
        // Known runs: days 0-19, 23-39, 41-59; unknown days are gaps, not zeros.
        assert_eq!(
            svg.matches("<polyline class=\"series coverage\"").count(),
            3
        );
        assert_eq!(svg.matches("<polyline class=\"series open\"").count(), 1);
        let zero = Num(200.0 - 24.0).to_string();
        let coverage_lines = svg
            .lines()
            .filter(|line| line.contains("class=\"series coverage\""));
        for line in coverage_lines {
            let points = line
                .split("points=\"")
                .nth(1)
                .unwrap()
                .trim_end_matches("\"/>");
            assert!(
                points
                    .split(' ')
                    .all(|xy| !xy.ends_with(&format!(",{zero}"))),
                "{line}"
            );
        }
        assert!(svg.contains("<title>2024-03-21: 13 open findings, coverage unknown</title>"));

        // A known day alone between unknown ones is a dot.
        let mut lonely = sample_points(5);
        lonely[1].coverage = None;
        lonely[3].coverage = None;
        lonely[4].coverage = Some(f64::NAN);
        let svg = trend(&lonely, 640, 200);
        assert_safe(&svg);
        assert!(!svg.contains("<polyline class=\"series coverage\""));
        assert_eq!(svg.matches("<circle class=\"series coverage\"").count(), 2);
    }

    #[test]
    fn the_first_and_last_days_are_labelled() {
        let svg = trend(&sample_points(60), 640, 200);
        assert!(svg.contains("text-anchor=\"start\">2024-03-01</text>"));
        assert!(svg.contains("text-anchor=\"end\">2024-04-29</text>"));
        let labels = svg.matches("</text>").count();
        let middle_days = svg.matches("text-anchor=\"middle\">2024-").count();
        assert!(
            (2..=4).contains(&middle_days),
            "{middle_days} of {labels} labels"
        );
        // The smallest chart still names both ends.
        let svg = trend(&sample_points(2), 10, 10);
        assert_safe(&svg);
        assert!(svg.contains(">2024-03-01</text>") && svg.contains(">2024-03-02</text>"));
        assert!(svg.contains("width=\"240\" height=\"120\""));
    }

    #[test]
    fn a_year_of_points_for_fifty_targets_renders() {
        let year: Vec<TrendPoint> = (0..366)
            .map(|i| TrendPoint {
                day: day(i),
                open: (i % 37) as u32,
                coverage: (i % 50 != 0).then_some(0.9),
            })
            .collect();
        let charts: Vec<String> = (0..50).map(|_| trend(&year, 480, 160)).collect();
        assert_safe(&charts[0]);
        assert!(charts.iter().all(|chart| chart == &charts[0]));
        assert_eq!(charts[0].matches("<rect ").count(), 366);
    }

    #[test]
    fn rendering_is_deterministic() {
        assert_eq!(
            trend(&sample_points(60), 640, 200),
            trend(&sample_points(60), 640, 200)
        );
        let n = sample_neighbourhood();
        assert_eq!(
            blast_radius(&n, 900, "f1"),
            blast_radius(&n.clone(), 900, "f1")
        );
    }

    /// Golden: `tests/golden/svg/trend.svg`, byte for byte. After a meant
    /// change, `DRIFTD_BLESS=1 cargo test --lib report::svg` rewrites it.
    #[test]
    fn trend_golden() {
        let svg = trend(&sample_points(60), 640, 200);
        assert_safe(&svg);
        golden("trend.svg", &svg);
    }

    /// Golden: `tests/golden/svg/blast_radius.svg`, byte for byte. After a
    /// meant change, `DRIFTD_BLESS=1 cargo test --lib report::svg` rewrites it.
    #[test]
    fn blast_radius_golden() {
        let svg = blast_radius(&sample_neighbourhood(), 900, "f-vpc");
        assert_safe(&svg);
        golden("blast_radius.svg", &svg);
    }

    #[test]
    fn hostile_labels_and_hrefs_are_inert() {
        let n = Neighbourhood {
            nodes: vec![
                node("<script>alert(1)</script>", 0, Some("javascript:alert(1)")),
                node(
                    "\"><img src=x onerror=alert(1)>",
                    1,
                    Some("/f?q=\"><img/src=x/onerror=alert(1)>"),
                ),
                node(
                    "aws_s3_bucket.b",
                    1,
                    Some("data:text/html,<script>alert(1)</script>"),
                ),
            ],
            edges: vec![(1, 0), (2, 0)],
            more: 0,
        };
        let svg = blast_radius(&n, 700, "x\"><script>");
        assert_safe(&svg);
        assert!(svg.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
        assert!(svg.contains("<title>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</title>"));
        assert!(svg.contains("<a href=\"/f?q=&quot;&gt;&lt;img/src=x/onerror=alert(1)&gt;\">"));
        assert_eq!(
            svg.matches("<a ").count(),
            1,
            "javascript: and data: are not links"
        );
        assert!(svg.contains("id=\"driftd-x___script_-arrow\""));
        assert!(svg.contains("aria-label=\"blast radius of &lt;script&gt;"));
    }

    #[test]
    fn long_labels_lose_their_middle_and_keep_it_in_the_title() {
        let long =
            "module.platform.module.eks.aws_eks_node_group.workers[\"general-purpose-large\"]";
        let cut = middle_ellipsis(long, 40);
        assert_eq!(cut.chars().count(), 40);
        assert_eq!(cut, "module.…workers[\"general-purpose-large\"]");
        assert_eq!(
            middle_ellipsis("module.net.aws_subnet.private[\"eu-west-1a\"]", 33),
            "module.net.…private[\"eu-west-1a\"]"
        );
        assert_eq!(
            middle_ellipsis("abcdefghijklmnopqrstuvwxyz", 12),
            "abcd…tuvwxyz"
        );
        assert_eq!(middle_ellipsis("aws_vpc.main", 40), "aws_vpc.main");
        assert_eq!(
            middle_ellipsis("ключ.ключ.ключ.ключ", 12).chars().count(),
            12
        );

        let svg = blast_radius(&sample_neighbourhood(), 1200, "n");
        let escaped_long = escaped(long);
        assert!(svg.contains(&format!("<title>{escaped_long}</title>")));
        assert!(svg.contains(&format!(">{}</text>", escaped(&cut))));
    }

    #[test]
    fn the_layout_is_layered_and_sorted() {
        let svg = blast_radius(&sample_neighbourhood(), 900, "n");
        assert_eq!(svg.matches("<g class=\"node root\">").count(), 1);
        assert_eq!(svg.matches("<g class=\"node\">").count(), 7);
        assert!(svg.contains(">+5 more</text>"));
        assert!(svg.contains(">drifted</text>") && svg.contains(">2 steps away</text>"));
        assert_eq!(edge_count(&svg), 10);
        assert_eq!(
            svg.matches("marker-end=\"url(#driftd-n-arrow)\"").count(),
            1
        );
        // Within a column, by label.
        let db = svg.find(">module.db.aws_db_subnet_group.main<").unwrap();
        let web = svg.find(">module.app.aws_instance.web[0]<").unwrap();
        assert!(web < db);
        // The order nodes come in does not matter.
        let mut shuffled = sample_neighbourhood();
        shuffled.nodes.swap(4, 7);
        shuffled.edges = shuffled
            .edges
            .iter()
            .map(|&(from, to)| {
                let swap = |i| match i {
                    4 => 7,
                    7 => 4,
                    i => i,
                };
                (swap(from), swap(to))
            })
            .collect();
        assert_eq!(blast_radius(&shuffled, 900, "n"), svg);
    }

    #[test]
    fn the_height_follows_the_tallest_column() {
        let height = |dependents: u32| {
            let mut n = Neighbourhood {
                nodes: vec![node("aws_vpc.main", 0, None)],
                ..Default::default()
            };
            for i in 0..dependents {
                n.nodes.push(node(&format!("aws_subnet.s{i}"), 1, None));
                n.edges.push((n.nodes.len() - 1, 0));
            }
            let svg = blast_radius(&n, 700, "h");
            assert_safe(&svg);
            let height = svg
                .split("height=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            height.parse::<f64>().unwrap()
        };
        assert!(height(1) < height(3));
        assert_eq!(height(10) - height(9), BOX_HEIGHT + ROW_GAP);
    }

    #[test]
    fn a_root_alone_says_nothing_depends_on_it() {
        let n = Neighbourhood {
            nodes: vec![node("aws_vpc.main", 0, None)],
            ..Default::default()
        };
        let svg = blast_radius(&n, 700, "alone");
        assert_safe(&svg);
        assert!(svg.contains(">nothing depends on it</text>"));
        assert!(svg.contains("aria-label=\"aws_vpc.main: nothing depends on it\""));
        assert!(!svg.contains("<defs>") && !svg.contains("class=\"levels\""));

        let only_more = Neighbourhood { more: 3, ..n };
        let svg = blast_radius(&only_more, 700, "more");
        assert_safe(&svg);
        assert!(svg.contains(">+3 more</text>") && !svg.contains("nothing depends"));

        let svg = blast_radius(&Neighbourhood::default(), 700, "none");
        assert_safe(&svg);
        assert!(svg.contains(">nothing to show</text>"));
    }

    #[test]
    fn edges_to_nowhere_are_not_drawn() {
        let n = Neighbourhood {
            nodes: vec![node("aws_vpc.main", 0, None), node("aws_subnet.a", 1, None)],
            edges: vec![(1, 0), (1, 1), (5, 0), (0, 9), (0, 1)],
            more: 0,
        };
        let svg = blast_radius(&n, 700, "e");
        assert_safe(&svg);
        // (1, 0) forward and (0, 1) against the layers; the self-loop and the
        // indexes past the end are skipped.
        assert_eq!(edge_count(&svg), 2);
    }

    #[test]
    fn narrow_drawings_widen_to_fit_short_labels() {
        let svg = blast_radius(&sample_neighbourhood(), 100, "w");
        assert_safe(&svg);
        let width: f64 = svg
            .split("width=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(width > 300.0, "{width}");
        assert!(svg.contains("…"));
    }
}
