//! The rating window on its own: who is grouped with whom, and when.

use super::*;

fn window() -> Window {
    Window {
        base: 100.0,
        widen_per_sec: 50.0,
        max: 1000.0,
        fill_after: Duration::from_secs(5),
    }
}

fn player(user: &str, rating: f64, waited_secs: f64) -> Waiting {
    Waiting {
        user: user.into(),
        name: user.into(),
        rating,
        waited: Duration::from_secs_f64(waited_secs),
        rated: true,
    }
}

const PAIRS: Seats = Seats { min: 2, max: 2 };

fn names(waiting: &[Waiting], groups: &[Vec<usize>]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut g: Vec<String> = g.iter().map(|&i| waiting[i].user.clone()).collect();
            g.sort();
            g
        })
        .collect();
    out.sort();
    out
}

#[test]
fn nearest_ratings_pair_up() {
    let q = [
        player("a", 1500.0, 0.0),
        player("b", 1900.0, 0.0),
        player("c", 1540.0, 0.0),
        player("d", 1950.0, 0.0),
    ];
    let groups = RatingWindow(window()).groups(PAIRS, &q);
    assert_eq!(names(&q, &groups), [["a", "c"], ["b", "d"]]);
}

#[test]
fn far_apart_ratings_wait_for_the_window_to_widen() {
    let matcher = RatingWindow(window());
    // 400 apart: base 100, +50/s, so both must have waited 6 s.
    let fresh = [player("a", 1500.0, 0.0), player("b", 1900.0, 0.0)];
    assert!(matcher.groups(PAIRS, &fresh).is_empty());
    let one_waited = [player("a", 1500.0, 10.0), player("b", 1900.0, 1.0)];
    assert!(
        matcher.groups(PAIRS, &one_waited).is_empty(),
        "both windows must reach"
    );
    let both_waited = [player("a", 1500.0, 6.0), player("b", 1900.0, 6.0)];
    assert_eq!(matcher.groups(PAIRS, &both_waited).len(), 1);
}

#[test]
fn the_oldest_player_chooses_first() {
    // b is as close to a as to c, but a has waited longest and takes b.
    let q = [
        player("c", 1600.0, 0.0),
        player("b", 1550.0, 0.0),
        player("a", 1500.0, 3.0),
    ];
    let groups = RatingWindow(window()).groups(PAIRS, &q);
    assert_eq!(names(&q, &groups), [["a", "b"]]);
}

#[test]
fn rooms_fill_up_or_start_small_after_a_while() {
    let seats = Seats { min: 2, max: 4 };
    let matcher = RatingWindow(window());
    let three = [
        player("a", 1500.0, 1.0),
        player("b", 1510.0, 1.0),
        player("c", 1520.0, 1.0),
    ];
    assert!(matcher.groups(seats, &three).is_empty(), "waits to fill");
    let five = [
        player("a", 1500.0, 1.0),
        player("b", 1510.0, 1.0),
        player("c", 1520.0, 1.0),
        player("d", 1530.0, 1.0),
        player("e", 1540.0, 1.0),
    ];
    assert_eq!(matcher.groups(seats, &five)[0].len(), 4);
    let late = [
        player("a", 1500.0, 6.0),
        player("b", 1510.0, 1.0),
        player("c", 1520.0, 1.0),
    ];
    assert_eq!(matcher.groups(seats, &late)[0].len(), 3);
}

#[test]
fn a_group_fits_every_members_window() {
    // a (old, wide window) reaches both, but b and c are 300 apart and c is fresh.
    let seats = Seats { min: 3, max: 3 };
    let q = [
        player("a", 1500.0, 20.0),
        player("b", 1350.0, 20.0),
        player("c", 1650.0, 0.0),
    ];
    assert!(RatingWindow(window()).groups(seats, &q).is_empty());
}

#[test]
fn many_players_are_each_grouped_once() {
    let q: Vec<Waiting> = (0..10_000)
        .map(|i| {
            player(
                &format!("u{i}"),
                1000.0 + (i * 7919 % 1000) as f64,
                (i % 30) as f64,
            )
        })
        .collect();
    let groups = RatingWindow(window()).groups(PAIRS, &q);
    let mut seen = vec![false; q.len()];
    for g in &groups {
        assert_eq!(g.len(), 2);
        for &i in g {
            assert!(!seen[i], "{i} twice");
            seen[i] = true;
        }
    }
    assert_eq!(groups.len(), 5_000);
}

#[test]
fn invalid_groups_from_a_game_are_dropped() {
    let groups = vec![
        vec![0, 1],
        vec![1, 2],
        vec![3],
        vec![4, 4],
        vec![5, 9],
        vec![2, 3],
    ];
    assert_eq!(valid_groups(PAIRS, 6, groups), [vec![0, 1], vec![2, 3]]);
}
