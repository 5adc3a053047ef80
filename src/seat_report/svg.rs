//! The report's pictures as inline SVG: a bar of seats used, and a chart of seats
//! used (and total) over time. Each carries its text alternative (`role="img"`, a
//! `<title>`), and every string in it is escaped by the caller's [`escape`].

use std::fmt::Write;

use super::Point;
use super::html::escape;

/// The bar's size, in CSS pixels.
const BAR_WIDTH: f64 = 160.0;
const BAR_HEIGHT: f64 = 14.0;

/// A bar `share` (0 to 1) full, described by `label` (`7 of 8 seats used`).
pub(super) fn bar(share: f64, over: bool, label: &str) -> String {
    let filled = (share.clamp(0.0, 1.0) * BAR_WIDTH).round();
    let class = if over { "bar-over" } else { "bar-used" };
    format!(
        "<svg class=\"bar\" role=\"img\" width=\"{BAR_WIDTH}\" height=\"{BAR_HEIGHT}\" viewBox=\"0 0 {BAR_WIDTH} {BAR_HEIGHT}\"><title>{label}</title><rect class=\"bar-free\" width=\"{BAR_WIDTH}\" height=\"{BAR_HEIGHT}\" rx=\"3\"/><rect class=\"{class}\" width=\"{filled}\" height=\"{BAR_HEIGHT}\" rx=\"3\"/></svg>",
        label = escape(label)
    )
}

/// The chart's size and margins, in CSS pixels.
const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 180.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// A step chart of seats used after each revision of `points` (oldest first), with
/// the total as a dashed line, titled `label`. `None` without points.
pub(super) fn chart(points: &[Point], label: &str) -> Option<String> {
    let first = points.first()?;
    let last = points.last()?;
    let top = points
        .iter()
        .map(|p| p.used.max(p.seats.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    // Revisions are evenly spaced: changes come in bursts (one apply), and a time
    // axis would draw a burst as one vertical line. Each point holds its count until
    // the next one, the last until the right edge (now).
    let steps = points.len();
    #[allow(clippy::cast_precision_loss)] // a chart's few hundred points
    let x = |i: usize| LEFT + plot_width * (i as f64) / (steps as f64);
    let y = |v: u32| TOP + plot_height * (1.0 - f64::from(v) / f64::from(top));
    let mut used = String::new();
    let mut total = String::new();
    for (i, point) in points.iter().enumerate() {
        // Steps, not slopes: a count holds until the next change.
        if let Some(before) = i.checked_sub(1).map(|j| &points[j]) {
            let _ = write!(used, "{:.1},{:.1} ", x(i), y(before.used));
            if let (Some(seats), Some(_)) = (before.seats, point.seats) {
                let _ = write!(total, "{:.1},{:.1} ", x(i), y(seats));
            }
        }
        let _ = write!(used, "{:.1},{:.1} ", x(i), y(point.used));
        if let Some(seats) = point.seats {
            let _ = write!(total, "{:.1},{:.1} ", x(i), y(seats));
        }
    }
    let _ = write!(used, "{:.1},{:.1}", x(steps), y(last.used));
    if let Some(seats) = last.seats {
        let _ = write!(total, "{:.1},{:.1}", x(steps), y(seats));
    }
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\"><title>{}</title>",
        escape(label)
    );
    let axis_bottom = TOP + plot_height;
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{axis_bottom}\"/><line class=\"axis\" x1=\"{LEFT}\" y1=\"{axis_bottom}\" x2=\"{}\" y2=\"{axis_bottom}\"/>",
        LEFT + plot_width
    );
    let _ = write!(
        svg,
        "<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{top}</text><text class=\"tick\" x=\"{}\" y=\"{axis_bottom}\" text-anchor=\"end\">0</text>",
        LEFT - 6.0,
        TOP + 4.0,
        LEFT - 6.0
    );
    let base = HEIGHT - 8.0;
    let _ = write!(
        svg,
        "<text class=\"tick\" x=\"{LEFT}\" y=\"{base}\">rev {}</text>",
        first.revision
    );
    if steps > 1 {
        let _ = write!(
            svg,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{base}\">rev {}</text>",
            x(steps - 1),
            last.revision
        );
    }
    let _ = write!(
        svg,
        "<text class=\"tick\" x=\"{}\" y=\"{base}\" text-anchor=\"end\">now</text>",
        LEFT + plot_width
    );
    if !total.is_empty() {
        let _ = write!(
            svg,
            "<polyline class=\"total\" points=\"{}\"/>",
            total.trim_end()
        );
    }
    let _ = write!(
        svg,
        "<polyline class=\"used\" points=\"{}\"/>",
        used.trim_end()
    );
    svg.push_str("</svg>");
    Some(svg)
}
