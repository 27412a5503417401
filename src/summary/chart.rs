//! PNG charts, rendered in memory with plotters' bitmap backend and the
//! DejaVu Sans font compiled into the binary: no system font libraries, no
//! files, and the same bytes for the same data.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::{CohortStatus, MemberProgress, Outcome};
use crate::domain::Track;

/// DejaVu Sans (Bitstream Vera licence, `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub(crate) const FAMILY: &str = "sans-serif";

pub const PROGRESS_SIZE: (u32, u32) = (800, 520);
/// The widest window a progress chart draws, in weeks (ten years).
pub const MAX_CHART_WEEKS: u32 = 520;
const HEATMAP_WIDTH: u32 = 800;
/// Top (title) and bottom (date labels, legend) bands of the heatmap.
const HEATMAP_TOP: u32 = 56;
const HEATMAP_BOTTOM: u32 = 64;
const HEATMAP_LEFT: u32 = 56;
const HEATMAP_RIGHT: u32 = 16;
/// Rows are this tall at most (small cohorts) and at least (500 members: 2 px each).
const ROW_MAX: u32 = 22;
const ROW_MIN: u32 = 2;
/// Target height of the rows band before the per-row minimum applies.
const ROWS_TARGET: u32 = 480;
/// Rows are numbered when they are at least this tall.
const ROW_LABEL_MIN: u32 = 12;

const ANSWERED: RGBColor = RGBColor(0x00, 0x9E, 0x73);
const MISSED: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
const PAUSED: RGBColor = RGBColor(0x99, 0x99, 0x99);
const OPEN: RGBColor = RGBColor(0xF0, 0xE4, 0x42);
const NOT_OFFERED: RGBColor = RGBColor(0xEE, 0xEE, 0xEE);
const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
/// Left edge of the plots (after the y labels), for headings aligned with them.
const PLOT_LEFT: i32 = 44;
/// Room right of the plots for the track legend.
const LEGEND_WIDTH: u32 = 140;

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded chart font could not be loaded")]
    Font,
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the chart as PNG failed: {0}")]
    Encode(#[from] png::EncodingError),
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Registers the embedded font with plotters, once per process.
pub(crate) fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    REGISTERED
        .get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok())
        .then_some(())
        .ok_or(ChartError::Font)
}

fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

/// Draws into an RGB buffer of `size` and encodes it as PNG.
fn render(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> DrawResult,
) -> Result<Vec<u8>, ChartError> {
    ensure_font()?;
    let (w, h) = size;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| ChartError::Draw(e.to_string()))?;
        draw(&root).map_err(|e| ChartError::Draw(e.to_string()))?;
        root.present().map_err(|e| ChartError::Draw(e.to_string()))?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Flat colours compress well even at the fast level, which takes a
    // fraction of the default's time.
    encoder.set_compression(png::Compression::Fast);
    encoder.write_header()?.write_image_data(&pixels)?;
    Ok(out)
}

pub fn outcome_colour(o: Outcome) -> RGBColor {
    match o {
        Outcome::Answered => ANSWERED,
        Outcome::Missed => MISSED,
        Outcome::Paused => PAUSED,
        Outcome::Open => OPEN,
        Outcome::NotOffered => NOT_OFFERED,
    }
}

/// Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
pub fn track_colour(t: Track) -> RGBColor {
    match t {
        Track::Scope => RGBColor(0x00, 0x72, 0xB2),
        Track::Communication => RGBColor(0xE6, 0x9F, 0x00),
        Track::Influence => RGBColor(0x00, 0x9E, 0x73),
        Track::Mentoring => RGBColor(0xCC, 0x79, 0xA7),
        Track::Impact => RGBColor(0xD5, 0x5E, 0x00),
        Track::Judgment => RGBColor(0x56, 0xB4, 0xE9),
    }
}

fn short_date(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%b %d").to_string()
}

/// What the member's progress chart shows, before any pixel: check-ins
/// per week by outcome and confidence ratings per track, in the buckets the
/// bars are drawn in.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressChart {
    /// Bars: one per week of the window, at most [`MAX_CHART_WEEKS`].
    pub weeks: usize,
    /// Start of the window: week 0's left edge.
    pub window_start: DateTime<Utc>,
    /// Per week, how many check-ins had each outcome of [`ProgressChart::STACK`].
    pub counts: Vec<[u32; 4]>,
    /// Top of the bars' axis: the most check-ins in a week, at least 1.
    pub y_max: u32,
    /// Tracks with a rating in the window, in [`Track::ALL`] order, each
    /// with its points (mid-week x, confidence).
    pub confidence: Vec<(Track, Vec<(f64, f64)>)>,
}

impl ProgressChart {
    /// The outcomes the bars stack, bottom up (not offered is not drawn).
    pub const STACK: [Outcome; 4] = [Outcome::Answered, Outcome::Missed, Outcome::Paused, Outcome::Open];

    /// The chart of `p`'s window.
    pub fn of(p: &MemberProgress) -> Self {
        // One bar per week; a window longer than ten years would only blur into pixels.
        let weeks = p.window_weeks.clamp(1, MAX_CHART_WEEKS) as usize;
        let bucket = |t: DateTime<Utc>| {
            let i = (t - p.window_start).num_seconds().div_euclid(Duration::weeks(1).num_seconds());
            i.clamp(0, weeks as i64 - 1) as usize
        };
        let mut counts = vec![[0u32; 4]; weeks];
        for w in &p.weeks {
            if let Some(k) = Self::STACK.iter().position(|o| *o == w.outcome) {
                counts[bucket(w.occurrence_at)][k] += 1;
            }
        }
        let y_max = counts.iter().map(|c| c.iter().sum::<u32>()).max().unwrap_or(0).max(1);
        let confidence = Track::ALL
            .into_iter()
            .map(|track| {
                let points: Vec<(f64, f64)> = p
                    .weeks
                    .iter()
                    .filter(|w| w.track == Some(track))
                    .filter_map(|w| w.confidence.map(|c| (bucket(w.occurrence_at) as f64 + 0.5, f64::from(c))))
                    .collect();
                (track, points)
            })
            .filter(|(_, points)| !points.is_empty())
            .collect();
        ProgressChart { weeks, window_start: p.window_start, counts, y_max, confidence }
    }
}

/// The member's chart: check-ins per week (answered, missed, paused, open)
/// over the window, and confidence per track below it.
pub fn progress_png(p: &MemberProgress, title: &str, tz: Tz) -> Result<Vec<u8>, ChartError> {
    let chart = ProgressChart::of(p);
    let start = chart.window_start;
    let date_at = move |x: &f64| short_date(start + Duration::seconds((x * 7.0 * 86_400.0) as i64), tz);
    render(PROGRESS_SIZE, |root| {
        let root = root.titled(title, font(22))?;
        let (top, bottom) = root.split_vertically(210);
        draw_weeks_panel(&top, &chart, &date_at)?;
        draw_confidence_panel(&bottom, &chart, &date_at)
    })
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// The upper panel: a stacked bar of check-ins per week.
fn draw_weeks_panel(top: &Area<'_>, p: &ProgressChart, date_at: &dyn Fn(&f64) -> String) -> DrawResult {
    // Panel headings and legends are drawn by hand, left-aligned, so
    // they never cover the data.
    top.draw(&Text::new("Check-ins per week", (PLOT_LEFT, 4), font(15)))?;
    let legend = [
        (Outcome::Answered, "answered"),
        (Outcome::Missed, "missed"),
        (Outcome::Paused, "paused"),
        (Outcome::Open, "open"),
    ];
    for (k, (o, name)) in legend.into_iter().enumerate() {
        swatch(top, (PLOT_LEFT + 190 + k as i32 * 100, 6), outcome_colour(o), name)?;
    }
    let mut chart = ChartBuilder::on(top)
        .margin(8)
        .margin_top(28)
        .margin_right(LEGEND_WIDTH)
        .x_label_area_size(24)
        .y_label_area_size(36)
        .build_cartesian_2d(0f64..p.weeks as f64, 0f64..f64::from(p.y_max))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_labels(p.weeks.clamp(2, 7))
        .x_label_formatter(date_at)
        .y_labels(p.y_max.min(5) as usize + 1)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(font(13))
        .draw()?;
    chart.draw_series(p.counts.iter().enumerate().flat_map(|(i, c)| {
        let mut base = 0u32;
        c.iter()
            .zip(ProgressChart::STACK)
            .filter(|(n, _)| **n > 0)
            .map(|(n, o)| {
                let rect = Rectangle::new(
                    [(i as f64 + 0.12, f64::from(base)), (i as f64 + 0.88, f64::from(base + n))],
                    outcome_colour(o).filled(),
                );
                base += n;
                rect
            })
            .collect::<Vec<_>>()
    }))?;
    Ok(())
}

/// The lower panel: a line of confidence ratings per track, with a legend.
fn draw_confidence_panel(bottom: &Area<'_>, p: &ProgressChart, date_at: &dyn Fn(&f64) -> String) -> DrawResult {
    bottom.draw(&Text::new("Confidence per track, 1 (just starting) to 5 (a strength)", (PLOT_LEFT, 4), font(15)))?;
    let mut chart = ChartBuilder::on(bottom)
        .margin(8)
        .margin_top(28)
        .margin_right(LEGEND_WIDTH)
        .x_label_area_size(24)
        .y_label_area_size(36)
        .build_cartesian_2d(0f64..p.weeks as f64, 0.5f64..5.5f64)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .bold_line_style(GRID)
        .x_labels(p.weeks.clamp(2, 7))
        .x_label_formatter(date_at)
        .y_labels(5)
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(font(13))
        .draw()?;
    let (panel_w, panel_h) = bottom.dim_in_pixel();
    for (drawn, (track, points)) in p.confidence.iter().enumerate() {
        let colour = track_colour(*track);
        chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|pt| Circle::new(*pt, 4, colour.filled())))?;
        let x = panel_w as i32 - LEGEND_WIDTH as i32 + 16;
        swatch(bottom, (x, 40 + drawn as i32 * 22), colour, track.as_str())?;
    }
    if p.confidence.is_empty() {
        bottom.draw(&Text::new(
            "No confidence ratings in this window",
            (PLOT_LEFT + 120, panel_h as i32 / 2),
            font(15).color(&MUTED),
        ))?;
    }
    Ok(())
}

/// A legend entry: a colour square and its name.
fn swatch(area: &Area<'_>, (x, y): (i32, i32), colour: RGBColor, name: &str) -> DrawResult {
    area.draw(&Rectangle::new([(x, y), (x + 12, y + 12)], colour.filled()))?;
    area.draw(&Text::new(name.to_string(), (x + 18, y + 1), font(13).color(&MUTED)))?;
    Ok(())
}

fn heatmap_row_height(members: usize) -> u32 {
    (ROWS_TARGET / members.max(1) as u32).clamp(ROW_MIN, ROW_MAX)
}

/// Pixel size of the heatmap of `members` rows: 800 wide, taller with more
/// members (500 members → about 1100 px).
pub fn heatmap_size(members: usize) -> (u32, u32) {
    let rows = heatmap_row_height(members) * members.max(1) as u32;
    (HEATMAP_WIDTH, HEATMAP_TOP + rows + HEATMAP_BOTTOM)
}

/// Members (rows, numbered as in the status table) × the window's check-ins
/// (columns, oldest left), one colour per outcome.
pub fn heatmap_png(s: &CohortStatus, title: &str, tz: Tz) -> Result<Vec<u8>, ChartError> {
    let size = heatmap_size(s.members.len());
    let row_h = heatmap_row_height(s.members.len());
    let plot_w = HEATMAP_WIDTH - HEATMAP_LEFT - HEATMAP_RIGHT;
    // More columns than pixels (an unusually frequent schedule): keep the newest.
    let skip = s.weeks.len().saturating_sub(plot_w as usize);
    let columns = &s.weeks[skip..];
    let col_w = plot_w / columns.len().max(1) as u32;
    let (left, top) = (HEATMAP_LEFT as i32, HEATMAP_TOP as i32);

    render(size, |root| {
        root.draw(&Text::new(title, (left, 14), font(20)))?;
        if s.members.is_empty() || columns.is_empty() {
            let why = if s.members.is_empty() { "No members yet" } else { "No check-in posted in this window" };
            root.draw(&Text::new(why, (left, top + 4), font(15).color(&MUTED)))?;
        }
        for (r, m) in s.members.iter().enumerate() {
            let y = top + (r as u32 * row_h) as i32;
            for (c, outcome) in m.recent[skip.min(m.recent.len())..].iter().enumerate() {
                let x = left + (c as u32 * col_w) as i32;
                // A 1 px gap between cells when they are large enough to show it.
                let gap = i32::from(col_w > 4 && row_h > 4);
                root.draw(&Rectangle::new(
                    [(x, y), (x + col_w as i32 - gap, y + row_h as i32 - gap)],
                    outcome_colour(*outcome).filled(),
                ))?;
            }
            if row_h >= ROW_LABEL_MIN {
                root.draw(&Text::new(
                    format!("{:>3}", r + 1),
                    (8, y + (row_h as i32 - 12) / 2),
                    font(12).color(&MUTED),
                ))?;
            }
        }
        let bottom = top + (row_h * s.members.len().max(1) as u32) as i32;
        // About six date labels under the columns they name.
        let every = columns.len().div_ceil(6).max(1);
        for (c, w) in columns.iter().enumerate().step_by(every) {
            let x = left + (c as u32 * col_w) as i32;
            root.draw(&Text::new(short_date(w.occurrence_at, tz), (x, bottom + 6), font(12).color(&MUTED)))?;
        }
        let legend = [
            (Outcome::Answered, "answered"),
            (Outcome::Missed, "missed"),
            (Outcome::Paused, "paused"),
            (Outcome::Open, "not yet"),
            (Outcome::NotOffered, "not a member"),
        ];
        for (k, (o, name)) in legend.into_iter().enumerate() {
            let (x, y) = (left + k as i32 * 130, bottom + 32);
            swatch(root, (x, y), outcome_colour(o), name)?;
            // The pale "not a member" square needs an edge to show at all.
            root.draw(&Rectangle::new([(x, y), (x + 12, y + 12)], GRID.stroke_width(1)))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::WeekPoint;
    use crate::summary::fixtures::{ALICE, checkin, member, reply, week};

    fn point(k: i64, outcome: Outcome, track: Option<Track>, confidence: Option<u8>) -> WeekPoint {
        WeekPoint { checkin_id: crate::domain::CheckInId::new(k), occurrence_at: week(k), track, outcome, confidence }
    }

    #[test]
    fn bars_count_outcomes_per_week_and_lines_hold_each_rated_track() {
        let checkins: Vec<_> = (0..4).map(|k| checkin(k + 1, k, Track::ALL[k as usize % 2], "p")).collect();
        let replies = [reply(1, &checkins[0], ALICE, Some(2)), reply(3, &checkins[2], ALICE, Some(5))];
        let mut p = MemberProgress::compute(
            &member(ALICE, week(0)),
            &[],
            &checkins,
            &replies,
            &[],
            4,
            week(3) + chrono::Duration::days(2),
        );
        let c = ProgressChart::of(&p);
        assert_eq!(c.weeks, 4);
        assert_eq!(c.counts.iter().map(|w| w.iter().sum::<u32>()).sum::<u32>(), 4, "{c:?}");
        assert_eq!(c.counts.iter().map(|w| w[0]).sum::<u32>(), 2, "two answered");
        // The window starts 5 days before week 0: weeks 0 and 2 are bars 0 and 2.
        assert_eq!(c.confidence, [(Track::Scope, vec![(0.5, 2.0), (2.5, 5.0)])]);
        assert_eq!(c.y_max, 1);

        // Two check-ins in one week stack; nothing rated leaves no line.
        p.weeks = vec![point(1, Outcome::Missed, None, None), point(1, Outcome::Open, None, None)];
        p.window_start = week(0);
        let c = ProgressChart::of(&p);
        assert_eq!(c.counts[1], [0, 1, 0, 1]);
        assert_eq!(c.y_max, 2);
        assert!(c.confidence.is_empty());
    }

    #[test]
    fn an_absurd_window_is_clamped_and_late_points_fall_in_the_last_bar() {
        let mut p = MemberProgress::compute(&member(ALICE, week(0)), &[], &[], &[], &[], 100_000, week(0));
        p.window_start = week(0);
        p.weeks = vec![point(9_999, Outcome::Answered, Some(Track::Impact), Some(3))];
        let c = ProgressChart::of(&p);
        assert_eq!(c.weeks, MAX_CHART_WEEKS as usize);
        assert_eq!(c.counts[MAX_CHART_WEEKS as usize - 1], [1, 0, 0, 0]);
        assert_eq!(c.y_max, 1);
    }
}
