//! Thinning long series for images: Largest-Triangle-Three-Buckets (LTTB).
//!
//! An image cannot show more points than it has pixel columns, and ECharts would thin a long
//! line with the same algorithm anyway (`sampling: 'lttb'`). Doing it before the option is
//! built keeps a month of 5-minute points from passing through the JavaScript interpreter
//! (its cost grows with the points), while the drawn line keeps its peaks and dips. The HTML
//! page gets every point: the browser's ECharts is fast and thins per screen size itself.

/// Indices of about `target` points of `values` (the first, the last, and per bucket the one
/// making the largest triangle with its neighbours), ascending. All indices when `values`
/// has no more than `target` points.
pub(super) fn lttb(values: &[u64], target: usize) -> Vec<usize> {
    let n = values.len();
    if target >= n || target < 3 {
        return (0..n).collect();
    }
    let every = (n - 2) as f64 / (target - 2) as f64;
    let bucket_start = |i: usize| ((i as f64 * every) as usize + 1).min(n - 1);
    let mut picked = Vec::with_capacity(target);
    picked.push(0);
    let mut a = 0;
    for i in 0..target - 2 {
        let (start, end) = (bucket_start(i), bucket_start(i + 1));
        // The average of the next bucket (the last point after the last bucket).
        let (next_start, next_end) = (end, bucket_start(i + 2).max(end + 1).min(n));
        let count = (next_end - next_start) as f64;
        let avg_x = (next_start..next_end).map(|j| j as f64).sum::<f64>() / count;
        let avg_y = values[next_start..next_end]
            .iter()
            .map(|&v| v as f64)
            .sum::<f64>()
            / count;
        let (ax, ay) = (a as f64, values[a] as f64);
        let area = |j: usize| {
            ((ax - avg_x) * (values[j] as f64 - ay) - (ax - j as f64) * (avg_y - ay)).abs()
        };
        a = (start..end.max(start + 1))
            .max_by(|&x, &y| area(x).total_cmp(&area(y)))
            .expect("buckets are not empty");
        picked.push(a);
    }
    picked.push(n - 1);
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_series_are_kept_whole() {
        assert_eq!(lttb(&[5, 6, 7], 10), vec![0, 1, 2]);
        assert_eq!(lttb(&[], 10), Vec::<usize>::new());
    }

    #[test]
    fn long_series_keep_their_ends_and_their_peaks() {
        let mut values = vec![10u64; 1000];
        values[500] = 1_000_000;
        values[730] = 0;
        let picked = lttb(&values, 50);
        assert_eq!(picked.len(), 50);
        assert_eq!((picked[0], picked[49]), (0, 999));
        assert!(picked.windows(2).all(|w| w[0] < w[1]), "ascending");
        assert!(picked.contains(&500), "the peak survives");
        assert!(picked.contains(&730), "the dip survives");
    }
}
