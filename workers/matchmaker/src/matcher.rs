//! How waiting players become groups: the [`Matcher`] seam, and [`RatingWindow`], the
//! default. A game may bring its own matcher (a game file's `match(tickets)`); whatever a
//! matcher returns is checked by the caller (sizes, no player twice), so a faulty one can
//! delay matches but never match anyone twice.

use std::collections::BTreeSet;
use std::time::Duration;

/// One player in the queue, as a matcher sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiting {
    /// The user id (a guest's starts with `g-`).
    pub user: String,
    /// Their display name (a game's own matcher may show it).
    pub name: String,
    /// The player's rating in this game (1500 for guests and newcomers).
    pub rating: f64,
    /// How long the player has waited: the window widens with it.
    pub waited: Duration,
    /// Whether the player counts for ratings (a guest does not).
    pub rated: bool,
}

/// How many players one room of a game takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seats {
    /// Fewest players a room starts with.
    pub min: usize,
    /// Most players a room holds.
    pub max: usize,
}

/// Turns the queue of one game into groups, each a room's players (indices into the
/// `waiting` slice). Players left out wait for the next round.
pub trait Matcher: Send + Sync + 'static {
    /// The groups to form now; each of `seats.min..=seats.max` players, none in two.
    fn groups(&self, seats: Seats, waiting: &[Waiting]) -> Vec<Vec<usize>>;
}

/// The rating window: how far apart two players' ratings may be, growing with the time
/// they have waited, so nobody waits forever for a perfect opponent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The window when a player has just joined (± rating points).
    pub base: f64,
    /// How much it widens per second waited.
    pub widen_per_sec: f64,
    /// The widest it gets.
    pub max: f64,
    /// How long the oldest player of a group waits for the room to fill (to `seats.max`)
    /// before a smaller group (of at least `seats.min`) starts anyway.
    pub fill_after: Duration,
}

impl Window {
    /// The window of a player who has waited `waited`.
    pub fn at(&self, waited: Duration) -> f64 {
        (self.base + self.widen_per_sec * waited.as_secs_f64()).min(self.max)
    }
}

/// The default matcher: oldest player first, each grouped with the nearest-rated players
/// whose ratings every member's window accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatingWindow(pub Window);

impl Matcher for RatingWindow {
    fn groups(&self, seats: Seats, waiting: &[Waiting]) -> Vec<Vec<usize>> {
        let window = &self.0;
        let n = waiting.len();
        // Positions in rating order; `alive` holds the positions of the unmatched.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| waiting[a].rating.total_cmp(&waiting[b].rating));
        let mut pos = vec![0; n];
        for (p, &i) in order.iter().enumerate() {
            pos[i] = p;
        }
        let mut alive: BTreeSet<usize> = (0..n).collect();
        let mut oldest: Vec<usize> = (0..n).collect();
        oldest.sort_by(|&a, &b| waiting[b].waited.cmp(&waiting[a].waited));

        let mut groups = Vec::new();
        for t in oldest {
            if !alive.contains(&pos[t]) {
                continue;
            }
            let group = gather(window, seats, waiting, &order, &alive, t, pos[t]);
            let full = group.len() == seats.max;
            let waited_enough = waiting[t].waited >= window.fill_after;
            if group.len() >= seats.min.max(1) && (full || waited_enough) {
                for &i in &group {
                    alive.remove(&pos[i]);
                }
                groups.push(group);
            }
        }
        groups
    }
}

/// The group `t` (at rating position `p`) would lead: up to `seats.max` players, nearest
/// ratings first, every pair within the narrowest window among them.
fn gather(
    window: &Window,
    seats: Seats,
    waiting: &[Waiting],
    order: &[usize],
    alive: &BTreeSet<usize>,
    t: usize,
    p: usize,
) -> Vec<usize> {
    let rating = |i: usize| waiting[i].rating;
    let reach = window.at(waiting[t].waited);
    let (mut lo, mut hi, mut narrowest) = (rating(t), rating(t), reach);
    let mut group = vec![t];
    let mut left = alive.range(..p).next_back().copied();
    let mut right = alive.range(p + 1..).next().copied();
    while group.len() < seats.max {
        let dist = |q: Option<usize>| q.map(|q| (rating(order[q]) - rating(t)).abs());
        let take_left = match (dist(left), dist(right)) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => l <= r,
        };
        let q = if take_left { left } else { right }.expect("a side was chosen");
        if dist(Some(q)).expect("present") > reach {
            break; // the nearer side is out of reach, so is the other
        }
        if take_left {
            left = alive.range(..q).next_back().copied();
        } else {
            right = alive.range(q + 1..).next().copied();
        }
        let c = order[q];
        let their = window.at(waiting[c].waited).min(narrowest);
        let (new_lo, new_hi) = (lo.min(rating(c)), hi.max(rating(c)));
        if new_hi - new_lo <= their {
            (lo, hi, narrowest) = (new_lo, new_hi, their);
            group.push(c);
        }
    }
    group
}

/// Checks what a matcher returned against the queue it was given: only groups of
/// `seats.min..=seats.max` distinct players, each in one group; the rest are dropped (a
/// game's own matcher may be wrong; nobody may be matched twice for it).
pub fn valid_groups(seats: Seats, n: usize, groups: Vec<Vec<usize>>) -> Vec<Vec<usize>> {
    let mut taken = vec![false; n];
    let mut valid = Vec::new();
    for group in groups {
        let sized = (seats.min.max(1)..=seats.max).contains(&group.len());
        let mut seen = BTreeSet::new();
        let fresh = group.iter().all(|&i| i < n && !taken[i] && seen.insert(i));
        if sized && fresh {
            for &i in &group {
                taken[i] = true;
            }
            valid.push(group);
        } else {
            tracing::warn!(size = group.len(), "a matcher returned an invalid group; dropped");
        }
    }
    valid
}

#[cfg(test)]
mod tests;
