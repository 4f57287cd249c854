//! The geometry of the report's horizontal bar charts (scores 0-100), laid out here so the
//! template only draws.

use super::{Bar, Chart, Tick};
use crate::i18n::{Lang, number};

/// One bar of a chart, before layout.
pub(super) struct BarInput {
    pub(super) label: String,
    pub(super) score: Option<f64>,
    pub(super) level: Option<i64>,
    /// A second score shown as a mark across the bar (the peer median's).
    pub(super) marker: Option<f64>,
}

/// A horizontal bar chart of scores 0..100.
pub(super) fn chart(lang: Lang, bars: Vec<BarInput>, label_width: f64) -> Chart {
    const ROW: f64 = 26.0;
    const TOP: f64 = 24.0;
    const BAR: f64 = 380.0;
    let scale = |score: f64| BAR * score.clamp(0.0, 100.0) / 100.0;
    let bars: Vec<Bar> = bars
        .into_iter()
        .enumerate()
        .map(|(i, bar)| Bar {
            label: shorten(&bar.label, (label_width / 6.8) as usize),
            y: TOP + ROW * i as f64,
            length: bar.score.map_or(0.0, scale),
            value: bar.score.map(|s| number(lang, s, 1)),
            level: bar.level,
            marker: bar.marker.map(scale),
        })
        .collect();
    Chart {
        width: label_width + BAR + 70.0,
        height: TOP + ROW * bars.len() as f64 + 8.0,
        label_width,
        bar_width: BAR,
        ticks: [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
            .into_iter()
            .map(|v| Tick {
                x: scale(v),
                label: number(lang, v, 0),
            })
            .collect(),
        bars,
    }
}

/// A label cut to `max` characters with `…`.
fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let cut: String = label.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}
