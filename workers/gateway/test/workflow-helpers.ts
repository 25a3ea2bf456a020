// Shared by the workflow tests.

/** A template with one state that can be re-entered forever (tick) and an end (close). */
export const COUNTER_TEMPLATE = {
  name: "Counter",
  initial_state: "open",
  states: [
    { key: "open", name: "Open" },
    { key: "closed", name: "Closed", terminal: true },
  ],
  transitions: [
    { key: "tick", name: "Tick", from: ["open"], to: "open" },
    { key: "close", name: "Close", from: ["open"], to: "closed" },
  ],
};
