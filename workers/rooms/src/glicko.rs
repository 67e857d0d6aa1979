//! Glicko-2 (Glickman, "Example of the Glicko-2 system", 2013): a rating, its deviation
//! (how sure we are) and its volatility, updated after a rating period from the results
//! against each opponent. Chorus takes every finished rated room as one period.

/// The scale factor between Glicko and Glicko-2 units.
const SCALE: f64 = 173.7178;
/// The system constant: how much volatility may change (Glickman suggests 0.3–1.2).
pub const TAU: f64 = 0.5;
/// Convergence tolerance of the volatility iteration.
const EPSILON: f64 = 0.000001;

/// A player's rating in one game.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rating {
    /// The rating (1500 to start).
    pub rating: f64,
    /// The rating deviation (350 to start: unsure).
    pub rd: f64,
    /// The volatility (0.06 to start).
    pub vol: f64,
}

impl Default for Rating {
    fn default() -> Rating {
        Rating {
            rating: 1500.0,
            rd: 350.0,
            vol: 0.06,
        }
    }
}

/// One result of a period: the opponent's rating before it, and the score (1 win, 0.5
/// draw, 0 loss).
#[derive(Debug, Clone, Copy)]
pub struct Game {
    /// The opponent as they were rated before the period.
    pub opponent: Rating,
    /// The score against them.
    pub score: f64,
}

fn g(phi: f64) -> f64 {
    1.0 / (1.0 + 3.0 * phi * phi / (std::f64::consts::PI * std::f64::consts::PI)).sqrt()
}

fn e(mu: f64, mu_j: f64, phi_j: f64) -> f64 {
    1.0 / (1.0 + (-g(phi_j) * (mu - mu_j)).exp())
}

/// `player`'s rating after a period with `games` (none: only the deviation grows).
pub fn update(player: Rating, games: &[Game], tau: f64) -> Rating {
    let mu = (player.rating - 1500.0) / SCALE;
    let phi = player.rd / SCALE;
    let sigma = player.vol;
    if games.is_empty() {
        let phi_star = (phi * phi + sigma * sigma).sqrt();
        return Rating {
            rd: (phi_star * SCALE).min(350.0),
            ..player
        };
    }
    let mut v_inv = 0.0;
    let mut delta_sum = 0.0;
    for game in games {
        let mu_j = (game.opponent.rating - 1500.0) / SCALE;
        let phi_j = game.opponent.rd / SCALE;
        let expected = e(mu, mu_j, phi_j);
        v_inv += g(phi_j).powi(2) * expected * (1.0 - expected);
        delta_sum += g(phi_j) * (game.score - expected);
    }
    let v = 1.0 / v_inv;
    let delta = v * delta_sum;
    let sigma_new = volatility(delta, phi, v, sigma, tau);
    let phi_star = (phi * phi + sigma_new * sigma_new).sqrt();
    let phi_new = 1.0 / (1.0 / (phi_star * phi_star) + 1.0 / v).sqrt();
    let mu_new = mu + phi_new * phi_new * delta_sum;
    Rating {
        rating: mu_new * SCALE + 1500.0,
        rd: phi_new * SCALE,
        vol: sigma_new,
    }
}

/// The new volatility (step 5 of the paper, the Illinois algorithm).
fn volatility(delta: f64, phi: f64, v: f64, sigma: f64, tau: f64) -> f64 {
    let a = (sigma * sigma).ln();
    let f = |x: f64| {
        let ex = x.exp();
        let d = phi * phi + v + ex;
        ex * (delta * delta - phi * phi - v - ex) / (2.0 * d * d) - (x - a) / (tau * tau)
    };
    let mut big_a = a;
    let mut big_b = if delta * delta > phi * phi + v {
        (delta * delta - phi * phi - v).ln()
    } else {
        let mut k = 1.0;
        while f(a - k * tau) < 0.0 {
            k += 1.0;
        }
        a - k * tau
    };
    let (mut f_a, mut f_b) = (f(big_a), f(big_b));
    for _ in 0..100 {
        if (big_b - big_a).abs() <= EPSILON {
            break;
        }
        let c = big_a + (big_a - big_b) * f_a / (f_b - f_a);
        let f_c = f(c);
        if f_c * f_b <= 0.0 {
            big_a = big_b;
            f_a = f_b;
        } else {
            f_a /= 2.0;
        }
        big_b = c;
        f_b = f_c;
    }
    (big_a / 2.0).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glickmans_worked_example() {
        let player = Rating {
            rating: 1500.0,
            rd: 200.0,
            vol: 0.06,
        };
        let games = [
            Game {
                opponent: Rating {
                    rating: 1400.0,
                    rd: 30.0,
                    vol: 0.06,
                },
                score: 1.0,
            },
            Game {
                opponent: Rating {
                    rating: 1550.0,
                    rd: 100.0,
                    vol: 0.06,
                },
                score: 0.0,
            },
            Game {
                opponent: Rating {
                    rating: 1700.0,
                    rd: 300.0,
                    vol: 0.06,
                },
                score: 0.0,
            },
        ];
        let after = update(player, &games, TAU);
        assert!((after.rating - 1464.06).abs() < 0.01, "{after:?}");
        assert!((after.rd - 151.52).abs() < 0.01, "{after:?}");
        assert!((after.vol - 0.05999).abs() < 0.0001, "{after:?}");
    }

    #[test]
    fn a_win_raises_and_a_loss_lowers_and_a_draw_between_equals_keeps() {
        let start = Rating::default();
        let won = update(
            start,
            &[Game {
                opponent: start,
                score: 1.0,
            }],
            TAU,
        );
        let lost = update(
            start,
            &[Game {
                opponent: start,
                score: 0.0,
            }],
            TAU,
        );
        let drew = update(
            start,
            &[Game {
                opponent: start,
                score: 0.5,
            }],
            TAU,
        );
        assert!(won.rating > 1500.0 && lost.rating < 1500.0);
        assert!(
            (won.rating - 1500.0 + lost.rating - 1500.0).abs() < 1e-6,
            "symmetric"
        );
        assert!((drew.rating - 1500.0).abs() < 1e-9);
        assert!(won.rd < start.rd, "a result makes us surer");
    }
}
