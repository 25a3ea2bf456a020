import type { FieldError } from "@buildly/shared";
import type { StateDef, TemplateInput, TransitionDef } from "./schemas";

/** What a template version holds besides its name: the graph. Stored as JSON in D1 and copied into each instance. */
export interface Definition {
  initial_state: string;
  states: StateDef[];
  transitions: TransitionDef[];
}

/** A template version as an instance keeps it for its whole life. */
export interface TemplateSnapshot extends Definition {
  id: string;
  version: number;
  name: string;
}

export function definitionOf(input: TemplateInput): Definition {
  return { initial_state: input.initial_state, states: input.states, transitions: input.transitions };
}

/** The transition a waiting state takes once its children are done: named, or the only one leaving it. */
export function childrenDoneTransition(def: Definition, state: StateDef): TransitionDef | undefined {
  if (!state.wait_for_children) return undefined;
  if (state.on_children_done) return def.transitions.find((t) => t.key === state.on_children_done);
  const leaving = def.transitions.filter((t) => t.from.includes(state.key));
  return leaving.length === 1 ? leaving[0] : undefined;
}

/** Transitions the instance takes by itself, with no caller: they run as the system and carry no actions. */
function automaticTransitions(def: Definition): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of def.states) {
    if (s.on_timeout) out.set(s.on_timeout, `the timeout of ${s.key}`);
    const done = childrenDoneTransition(def, s);
    if (done) out.set(done.key, `the children of ${s.key} finishing`);
  }
  return out;
}

/**
 * Everything wrong with a template's graph, one entry per problem, with the path of the field
 * at fault: unknown or duplicate keys, unreachable states, states with no way to an end, no
 * terminal state, transitions out of a terminal state, timeouts and waits that cannot work.
 */
export function graphProblems(def: Definition): FieldError[] {
  const problems: FieldError[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });

  const states = new Map<string, StateDef>();
  def.states.forEach((s, i) => {
    if (states.has(s.key)) add(`states.${i}.key`, `Duplicate state key ${s.key}`);
    else states.set(s.key, s);
  });
  const transitions = new Map<string, TransitionDef>();
  def.transitions.forEach((t, i) => {
    if (transitions.has(t.key)) add(`transitions.${i}.key`, `Duplicate transition key ${t.key}`);
    else transitions.set(t.key, t);
  });

  if (!states.has(def.initial_state)) add("initial_state", `Unknown state ${def.initial_state}`);
  if (![...states.values()].some((s) => s.terminal)) add("states", "No terminal state: every workflow needs a state where it ends");

  def.transitions.forEach((t, i) => {
    t.from.forEach((f, j) => {
      const s = states.get(f);
      if (!s) add(`transitions.${i}.from.${j}`, `Unknown state ${f}`);
      else if (s.terminal) add(`transitions.${i}.from.${j}`, `Transition ${t.key} leaves the terminal state ${f}`);
    });
    if (!states.has(t.to)) add(`transitions.${i}.to`, `Unknown state ${t.to}`);
  });

  def.states.forEach((s, i) => {
    const leaves = (key: string | undefined) => key !== undefined && transitions.get(key)?.from.includes(s.key) === true;
    if (s.terminal && (s.timeout_seconds !== undefined || s.on_timeout || s.wait_for_children)) {
      add(`states.${i}`, `The terminal state ${s.key} cannot have a timeout or wait for children`);
      return;
    }
    if ((s.timeout_seconds === undefined) !== (s.on_timeout === undefined)) {
      add(`states.${i}.on_timeout`, `State ${s.key}: timeout_seconds and on_timeout go together`);
    } else if (s.on_timeout && !leaves(s.on_timeout)) {
      add(`states.${i}.on_timeout`, `State ${s.key}: on_timeout names ${s.on_timeout}, which is not a transition leaving ${s.key}`);
    }
    if (s.on_children_done && !s.wait_for_children) add(`states.${i}.on_children_done`, `State ${s.key}: on_children_done needs wait_for_children`);
    if (s.wait_for_children) {
      if (s.on_children_done && !leaves(s.on_children_done)) {
        add(`states.${i}.on_children_done`, `State ${s.key}: on_children_done names ${s.on_children_done}, which is not a transition leaving ${s.key}`);
      } else if (!s.on_children_done && !childrenDoneTransition(def, s)) {
        add(`states.${i}.on_children_done`, `State ${s.key} waits for children: name the transition to take in on_children_done`);
      }
    }
  });

  const automatic = automaticTransitions(def);
  def.transitions.forEach((t, i) => {
    const why = automatic.get(t.key);
    if (why && t.actions?.length) add(`transitions.${i}.actions`, `Transition ${t.key} is taken by ${why}, with no caller to act for: it cannot have actions`);
    if (t.system_only && !why) {
      add(`transitions.${i}.system_only`, `Transition ${t.key} is system-only, but no state's on_timeout or children finishing takes it: nothing ever could`);
    }
    if (t.system_only && t.roles?.length) add(`transitions.${i}.roles`, `Transition ${t.key} is system-only: no caller takes it, so it names no roles`);
  });

  // Reachability and loops only make sense on a graph whose keys all resolve.
  if (problems.length === 0) {
    for (const loop of systemLoops(def)) {
      const i = def.states.findIndex((s) => s.key === loop[0]);
      add(
        `states.${i}`,
        `The states ${[...loop, loop[0]].join(" -> ")} move on by themselves (timeouts, children finishing) in a loop with no person between: ` +
          "the instance would change forever with no request. Let a person's transition break the loop",
      );
    }
    const reached = walk(def.initial_state, (s) => def.transitions.filter((t) => t.from.includes(s)).map((t) => t.to));
    const ends = new Set(def.states.filter((s) => s.terminal).map((s) => s.key));
    const toEnd = new Set<string>();
    for (const end of ends) for (const s of walk(end, (s) => def.transitions.filter((t) => t.to === s).flatMap((t) => t.from))) toEnd.add(s);
    def.states.forEach((s, i) => {
      if (!reached.has(s.key)) add(`states.${i}`, `State ${s.key} cannot be reached from the initial state ${def.initial_state}`);
      else if (!toEnd.has(s.key)) add(`states.${i}`, `State ${s.key} has no way to a terminal state`);
    });
  }
  return problems;
}

/** Where each state goes by itself (its timeout, its children finishing). */
export function systemMoves(def: Definition, state: StateDef): string[] {
  const out: string[] = [];
  const byTimeout = state.on_timeout ? def.transitions.find((t) => t.key === state.on_timeout) : undefined;
  if (byTimeout) out.push(byTimeout.to);
  const byChildren = childrenDoneTransition(def, state);
  if (byChildren) out.push(byChildren.to);
  return out;
}

/**
 * Loops of states that move on by themselves: a state timing out into itself, two timing out into
 * each other, a waiting state whose children-done transition comes back to it. Each loop once,
 * as the states along it, starting from the one listed first in the template.
 */
function systemLoops(def: Definition): string[][] {
  const byKey = new Map(def.states.map((s) => [s.key, s]));
  const colour = new Map<string, "open" | "done">();
  const loops: string[][] = [];
  for (const root of def.states) {
    if (colour.has(root.key)) continue;
    // Iterative depth-first search: each state has at most two moves of its own.
    const path: string[] = [];
    const stack: { key: string; next: string[] }[] = [];
    const enter = (key: string) => {
      colour.set(key, "open");
      path.push(key);
      stack.push({ key, next: systemMoves(def, byKey.get(key)!) });
    };
    enter(root.key);
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const to = top.next.shift();
      if (to === undefined) {
        colour.set(top.key, "done");
        stack.pop();
        path.pop();
      } else if (colour.get(to) === "open") loops.push(path.slice(path.indexOf(to)));
      else if (!colour.has(to)) enter(to);
    }
  }
  return loops;
}

function walk(start: string, next: (s: string) => string[]): Set<string> {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length)
    for (const n of next(queue.pop()!))
      if (!seen.has(n)) {
        seen.add(n);
        queue.push(n);
      }
  return seen;
}
