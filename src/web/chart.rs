//! A member's confidence per track over time, as inline SVG (plotters'
//! SVG backend): one line per track, 1–5 against the check-in's date. The
//! SVG holds numbers, dates and track names only, never text people wrote,
//! so the page may insert it unescaped.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use plotters::prelude::*;

use crate::domain::Track;
use crate::summary::chart::FAMILY;

/// One answer's confidence: when, which track, how confident (1–5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at: DateTime<Utc>,
    pub track: Track,
    pub confidence: u8,
}

/// Chart size in SVG user units (it scales to the page's width).
const SIZE: (u32, u32) = (720, 300);

/// A colour per track, distinct on light and dark backgrounds.
fn colour(track: Track) -> RGBColor {
    let i = Track::ALL.iter().position(|t| *t == track).unwrap_or(0);
    [
        RGBColor(0x2f, 0x8f, 0x6f),
        RGBColor(0x3b, 0x6e, 0xc8),
        RGBColor(0xc0, 0x6a, 0x1f),
        RGBColor(0x9b, 0x4d, 0xb8),
        RGBColor(0xc8, 0x3e, 0x5a),
        RGBColor(0x6b, 0x7f, 0x2a),
    ][i % 6]
}

/// The chart as an SVG element, or a sentence when there is nothing to
/// draw. HTML either way.
pub fn confidence_svg(points: &[Point], tz: Tz) -> String {
    let days: Vec<NaiveDate> = points.iter().map(|p| p.at.with_timezone(&tz).date_naive()).collect();
    let (Some(first), Some(last)) = (days.iter().min(), days.iter().max()) else {
        return "<p>No confidence given yet: it is the optional 1–5 of each answer.</p>".to_string();
    };
    // x: days from the first answer's date (plotters' date axes need a
    // feature this build leaves out).
    let first = *first;
    let x: Vec<f64> = days.iter().map(|d| (*d - first).num_days() as f64).collect();
    let span = (*last - first).num_days() as f64;
    if crate::summary::chart::ensure_font().is_err() {
        return "<p>The chart could not be drawn.</p>".to_string();
    }
    let mut svg = String::new();
    if let Err(e) = draw(&mut svg, points, &x, first, -3.0..span + 3.0) {
        tracing::warn!(error = %e, "confidence chart not drawn");
        return "<p>The chart could not be drawn.</p>".to_string();
    }
    svg
}

fn draw<'a>(
    out: &'a mut String,
    points: &[Point],
    x: &[f64],
    first: NaiveDate,
    range: std::ops::Range<f64>,
) -> Result<(), Box<dyn std::error::Error + 'a>> {
    let root = SVGBackend::with_string(out, SIZE).into_drawing_area();
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(28)
        .y_label_area_size(28)
        .build_cartesian_2d(range, 0.5f64..5.5f64)?;
    chart
        .configure_mesh()
        .y_labels(5)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .x_labels(6)
        .x_label_formatter(&|d| {
            let day = first + chrono::TimeDelta::days(d.round() as i64);
            day.format("%-d %b %y").to_string()
        })
        .light_line_style(TRANSPARENT)
        .bold_line_style(RGBColor(0x99, 0x99, 0x99).mix(0.3))
        .axis_style(RGBColor(0x99, 0x99, 0x99))
        .label_style((FAMILY, 12).into_font().color(&RGBColor(0x88, 0x88, 0x88)))
        .draw()?;
    for track in Track::ALL {
        let series: Vec<(f64, f64)> = points
            .iter()
            .zip(x)
            .filter(|(p, _)| p.track == track)
            .map(|(p, d)| (*d, f64::from(p.confidence)))
            .collect();
        if series.is_empty() {
            continue;
        }
        let style = colour(track).stroke_width(2);
        chart
            .draw_series(LineSeries::new(series.clone(), style).point_size(3))?
            .label(track.to_string())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FAMILY, 12).into_font().color(&RGBColor(0x88, 0x88, 0x88)))
        .border_style(RGBColor(0x99, 0x99, 0x99).mix(0.4))
        .background_style(TRANSPARENT)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_draws_each_track_and_only_numbers_and_names() {
        let at = |d: u32| DateTime::parse_from_rfc3339(&format!("2026-11-{d:02}T09:00:00Z")).unwrap().to_utc();
        let points = [
            Point { at: at(2), track: Track::Scope, confidence: 2 },
            Point { at: at(9), track: Track::Scope, confidence: 4 },
            Point { at: at(16), track: Track::Impact, confidence: 3 },
        ];
        let svg = confidence_svg(&points, chrono_tz::UTC);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("scope") && svg.contains("impact"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(confidence_svg(&[], chrono_tz::UTC).starts_with("<p>"));
    }
}
