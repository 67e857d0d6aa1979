// hold.js — an on-screen direction button held like a key: a finger, a pen or a mouse presses
// it on pointerdown (captured, so sliding off still lets go) and lets go on up, cancel or lost
// capture; activated without a pointer (the keyboard, a screen reader) it is a short press.
// Every press lasts at least `minHoldMs`, so a quick tap still moves a little. The arena's
// d-pad and the phone controller both steer with it.

/** Buttons made holdable so far: each gets its own id for pointerless presses. */
let buttons = 0;

/**
 * Makes `button` call `press(id)` when held and `release(id)` when let go, one `id` per
 * pointer (`p<pointerId>`), and one per button for an activation without a pointer.
 * @param {HTMLElement} button
 * @param {{press: (id: string) => void, release: (id: string) => void, minHoldMs?: number}} o
 */
export function holdable(button, { press, release, minHoldMs = 0 }) {
  const key = `key${++buttons}`;
  const since = new Map(); // id -> when it was pressed
  const down = (id) => {
    since.set(id, performance.now());
    press(id);
  };
  const up = (id) => {
    if (!since.has(id)) return;
    const left = minHoldMs - (performance.now() - since.get(id));
    since.delete(id);
    if (left > 0) setTimeout(() => release(id), left);
    else release(id);
  };
  button.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    try {
      button.setPointerCapture(e.pointerId);
    } catch {
      // a synthetic pointer
    }
    down(`p${e.pointerId}`);
  });
  const lift = (e) => up(`p${e.pointerId}`);
  button.addEventListener("pointerup", lift);
  button.addEventListener("pointercancel", lift);
  button.addEventListener("lostpointercapture", lift);
  button.addEventListener("contextmenu", (e) => e.preventDefault());
  button.addEventListener("click", (e) => {
    if (e.detail !== 0) return; // a pointer's click: its down and up did it
    down(key);
    up(key);
  });
}
