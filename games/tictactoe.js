// games/tictactoe.js — tic-tac-toe for Chorus.
//
// A plain ES module: the rooms worker runs it in a sandbox (no clock, no Math.random, no
// I/O), and the web app imports the very same file to show legal moves. Every function is
// pure: it returns new values and never changes its arguments.
//
// Inputs:  {"cell": 0..8}            (row by row: 0 1 2 / 3 4 5 / 6 7 8)
//          {"takeback": "ask"}       (ask to take your last move back)
//          {"takeback": "accept"}    (let the other player take theirs back)
// State:   {players, marks, board, turn, winner, draw, moves, takeback, forfeit}
// Events:  {"type":"move","player","cell"}, {"type":"takeback_asked","player"},
//          {"type":"takeback","player"} (player = who takes back), and the rooms worker's
//          {"type":"forfeit","player","reason"} when a player leaves or runs out of time.

export const meta = {
  name: "Tic-tac-toe",
  players: { min: 2, max: 2 },
  tick_hz: 0,
  turn_timeout_ms: 60000,
};

const LINES = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8],
  [0, 3, 6], [1, 4, 7], [2, 5, 8],
  [0, 4, 8], [2, 4, 6],
];

/** The state a room starts from: X (the first seat) moves first. */
export function init(players, _seed) {
  const ids = players.map((p) => p.id);
  return {
    players: ids,
    marks: { [ids[0]]: "X", [ids[1]]: "O" },
    board: [null, null, null, null, null, null, null, null, null],
    turn: ids[0],
    winner: null,
    draw: false,
    moves: [],
    takeback: null,
    forfeit: null,
  };
}

const refuse = (code, message) => ({ error: { code, message } });

/** Checks one input of `player` against `state`: the events it makes, or why not. */
export function command(state, player, input) {
  if (!state.players.includes(player)) return refuse("forbidden", "you do not play in this room");
  if (over(state)) return refuse("conflict", "the game is over");
  if (input && input.takeback === "ask") {
    if (!state.moves.some((m) => m.player === player)) {
      return refuse("bad_request", "you have no move to take back");
    }
    if (state.takeback === player) return refuse("conflict", "you already asked");
    return { events: [{ type: "takeback_asked", player }] };
  }
  if (input && input.takeback === "accept") {
    if (state.takeback === null || state.takeback === player) {
      return refuse("conflict", "nobody asked you for a takeback");
    }
    return { events: [{ type: "takeback", player: state.takeback }] };
  }
  if (input && "cell" in input) {
    const cell = input.cell;
    if (!Number.isInteger(cell) || cell < 0 || cell > 8) {
      return refuse("bad_request", "cell must be a whole number from 0 to 8");
    }
    if (state.turn !== player) return refuse("conflict", "it is not your turn");
    if (state.board[cell] !== null) return refuse("bad_request", "that cell is taken");
    return { events: [{ type: "move", player, cell }] };
  }
  return refuse("bad_request", 'send {"cell": 0..8} or {"takeback": "ask"|"accept"}');
}

/** `state` after `event`. */
export function apply(state, event) {
  switch (event.type) {
    case "move":
      return afterMoves(state, [...state.moves, { player: event.player, cell: event.cell }]);
    case "takeback_asked":
      return { ...state, takeback: event.player };
    case "takeback": {
      // The asker's last move goes, and every move after it; the asker moves again.
      const last = state.moves.map((m) => m.player).lastIndexOf(event.player);
      return last < 0 ? { ...state, takeback: null } : afterMoves(state, state.moves.slice(0, last));
    }
    case "forfeit": {
      if (over(state)) return state;
      const other = state.players.find((p) => p !== event.player);
      return {
        ...state,
        turn: null,
        winner: other,
        takeback: null,
        forfeit: { player: event.player, reason: event.reason },
      };
    }
    default:
      return state;
  }
}

/** Whether the game has ended. */
export function over(state) {
  return state.winner !== null || state.draw;
}

/** The cells the player to move may take (for the web app). */
export function legalCells(state) {
  if (over(state)) return [];
  return state.board.flatMap((mark, cell) => (mark === null ? [cell] : []));
}

/** The state after exactly `moves` from an empty board: board, turn and result. */
function afterMoves(state, moves) {
  const board = [null, null, null, null, null, null, null, null, null];
  for (const m of moves) board[m.cell] = state.marks[m.player];
  const last = moves[moves.length - 1];
  const won = last && LINES.some((line) => line.every((c) => board[c] === state.marks[last.player]));
  const full = board.every((c) => c !== null);
  const next = last ? state.players.find((p) => p !== last.player) : state.players[0];
  return {
    ...state,
    board,
    moves,
    takeback: null,
    winner: won ? last.player : null,
    draw: !won && full,
    turn: won || full ? null : next,
  };
}
