// The segment builder's model: condition trees (docs/segments.md) as editable state, with no DOM.
//
// The state is the tree itself, each node carrying an `id` for the UI: a card edits the keys of
// its node and nothing else, so a key the stored tree left out (a default count, a lifetime
// period) stays out, a shorthand period ("today") stays a string until it is edited, and the
// tree emitted for a loaded tree equals it. Every function returns new objects (the UI compares
// by identity to re-render).
//
// The vocabularies mirror segments/conditions/validation.py; the server validates again and its
// errors, keyed by JSON path ("conditions.conditions[1].period.unit"), come back to the cards
// through errorsByCard.

export const COUNT_OPS = ["=", "!=", ">", ">=", "<", "<="];
export const OPERATORS_BY_TYPE = {
  number: [...COUNT_OPS, "between", "in", "not_in", "exists", "not_exists"],
  date: [...COUNT_OPS, "between", "within_last", "within_next", "exists", "not_exists"],
  string: ["=", "!=", "contains", "not_contains", "starts_with", "in", "not_in", "exists", "not_exists"],
  boolean: ["=", "!=", "exists", "not_exists"],
  json: ["exists", "not_exists"],
  geoloc: ["within", "not_within", "exists", "not_exists"],
};
// Operators whose value is an object: a circle {lat, lon, km}, or days around today {amount, unit}.
export const CIRCLE_OPS = ["within", "not_within"];
export const RELATIVE_DATE_OPS = ["within_last", "within_next"];
export const RELATIVE_DATE_UNITS = ["day", "week", "month"];
// An array attribute ("string[]") has the value, lacks it, has any or none of a list.
export const ARRAY_OPS = ["contains", "not_contains", "contains_any", "not_contains_any", "exists", "not_exists"];
const ARRAY_ONLY_OPS = ["contains_any", "not_contains_any"];
for (const type of ["string", "number", "boolean", "date"]) OPERATORS_BY_TYPE[`${type}[]`] = ARRAY_OPS;
export const MAX_RELATIVE_AMOUNT = 1000;
// A date filter's operand is an instant ("2026-12-24T00:00:00Z") or a day ("2026-12-24", that day
// in the app's timezone) with these operators (periods.py: DAY_OPERATORS); an array of dates
// holds instants only.
export const DAY_OPS = [...COUNT_OPS, "between"];
export const DATE_MODES = ["day", "time"];
const DAY_TEXT = /^\d{4}-\d{2}-\d{2}$/;
const [EARLIEST_DAY, LATEST_DAY] = ["0001-01-02", "9999-12-30"]; // as validation.py's
export const CALENDAR_PERIODS = ["today", "yesterday", "this_week", "last_week", "this_month", "last_month"];
export const PERIOD_TYPES = ["lifetime", ...CALENDAR_PERIODS, "last", "older_than", "between"];
export const UNITS = ["minute", "hour", "day", "week", "month"];
export const STREAK_UNITS = ["day", "week", "month"];
export const MAX_STREAK_PERIODS = 60;
export const AGGREGATE_FUNCTIONS = ["sum", "avg", "min", "max"];
export const PLATFORMS = ["web", "android", "ios"];
export const CONTACT_FIELDS = {
  email: "string",
  phone: "string",
  external_id: "string",
  country: "string",
  language: "string",
  timezone: "string",
  created_at: "date",
  last_seen: "date",
};
const GROUPS = ["and", "or"];
const VALUELESS_OPS = ["exists", "not_exists"];
export const LIST_OPS = ["in", "not_in", ...ARRAY_ONLY_OPS];

// Ids -------------------------------------------------------------------------------------------
let lastId = 0;
const nextId = () => `n${++lastId}`;

/** The editable state of a tree: the same nodes, each with an id. */
export function fromTree(tree) {
  const node = { ...structuredClone(tree), id: nextId() };
  if (GROUPS.includes(node.type) && Array.isArray(node.conditions)) {
    node.conditions = tree.conditions.map(fromTree);
  }
  if (node.type === "not" && node.condition && typeof node.condition === "object") {
    node.condition = fromTree(tree.condition);
  }
  return node;
}

/** The tree of a state: its nodes without their ids. */
export function toTree(state) {
  const { id, ...node } = state;
  if (GROUPS.includes(node.type) && Array.isArray(node.conditions)) {
    node.conditions = node.conditions.map(toTree);
  }
  if (node.type === "not" && node.condition && typeof node.condition === "object") {
    node.condition = toTree(node.condition);
  }
  return node;
}

/** A new segment starts as an empty "all of" group (the builder asks for one condition). */
export function emptyState() {
  return fromTree({ type: "and", conditions: [] });
}

/** A new condition of `type`, with the first event of the catalog where it needs one. */
export function newCondition(type, catalog = { events: [], segments: [] }) {
  const event = catalog.events[0]?.name ?? "";
  const conditions = {
    event: { type: "event", event },
    first_event: { type: "first_event", event, period: { type: "last", amount: 7, unit: "day" } },
    last_event: { type: "last_event", event, period: { type: "older_than", amount: 30, unit: "day" } },
    streak: { type: "streak", event, periods: 4, unit: "week" },
    contact: { type: "contact", field: "country", op: "=", value: "" },
    device: { type: "device", platform: "web" },
    segment: { type: "segment", segment: catalog.segments[0]?.id ?? null },
    and: { type: "and", conditions: [] },
    or: { type: "or", conditions: [] },
  };
  return fromTree(conditions[type]);
}

// Walking and editing ----------------------------------------------------------------------------
function children(node) {
  if (GROUPS.includes(node.type)) return node.conditions;
  if (node.type === "not") return [node.condition];
  return [];
}

/** The node with `id`, or undefined. */
export function findNode(state, id) {
  if (state.id === id) return state;
  for (const child of children(state)) {
    const found = findNode(child, id);
    if (found) return found;
  }
  return undefined;
}

/** The parent of the node with `id` (undefined for the root). */
export function findParent(state, id) {
  for (const child of children(state)) {
    if (child.id === id) return state;
    const found = findParent(child, id);
    if (found) return found;
  }
  return undefined;
}

/** `state` with the node `id` replaced by `replace(node)` (which may return the same node). */
export function replaceNode(state, id, replace) {
  if (state.id === id) return replace(state);
  if (GROUPS.includes(state.type)) {
    const conditions = state.conditions.map((child) => replaceNode(child, id, replace));
    return conditions.every((child, n) => child === state.conditions[n]) ? state : { ...state, conditions };
  }
  if (state.type === "not") {
    const condition = replaceNode(state.condition, id, replace);
    return condition === state.condition ? state : { ...state, condition };
  }
  return state;
}

/** Merge `changes` into the node `id`; a change to `undefined` removes the key. */
export function updateNode(state, id, changes) {
  return replaceNode(state, id, (node) => {
    const updated = { ...node, ...changes };
    for (const [key, value] of Object.entries(changes)) if (value === undefined) delete updated[key];
    return updated;
  });
}

/** Add `node` to the group `groupId`; a root that is a single condition becomes "all of" it. */
export function addChild(state, groupId, node) {
  const target = findNode(state, groupId);
  if (target && !GROUPS.includes(target.type)) {
    return { ...fromTree({ type: "and", conditions: [] }), conditions: [state, node] };
  }
  return replaceNode(state, groupId, (group) => ({ ...group, conditions: [...group.conditions, node] }));
}

/** `state` without the node `id` (and without a NOT left empty by it). */
export function removeNode(state, id) {
  const parent = findParent(state, id);
  if (!parent) return state;
  if (parent.type === "not") return removeNode(state, parent.id);
  return replaceNode(state, parent.id, (group) => ({
    ...group,
    conditions: group.conditions.filter((child) => child.id !== id),
  }));
}

/** Whether the node `id` is negated (the only child of a NOT). */
export function isNegated(state, id) {
  return findParent(state, id)?.type === "not";
}

/** Negate the node `id` (wrap it in a NOT) or take the negation away. */
export function setNegated(state, id, negated) {
  if (negated === isNegated(state, id)) return state;
  if (negated) return replaceNode(state, id, (node) => ({ type: "not", condition: node, id: nextId() }));
  const parent = findParent(state, id);
  return replaceNode(state, parent.id, (not) => not.condition);
}

// Periods, counts, filters -------------------------------------------------------------------------
/** A node's period as an object (absent = lifetime; "today" = {type: "today"}). */
export function periodOf(node) {
  const period = node.period ?? { type: "lifetime" };
  return typeof period === "string" ? { type: period } : period;
}

/** The period a card shows after its type was changed to `type`, keeping what still applies. */
export function periodOfType(type, previous = {}) {
  if (type === "last" || type === "older_than") {
    return { type, amount: previous.amount ?? 30, unit: previous.unit ?? "day" };
  }
  if (type === "between") return { type, from: previous.from ?? "", to: previous.to ?? "" };
  return { type };
}

export function countOf(node) {
  return node.count ?? { op: ">=", value: 1 };
}

/** The type of a param: declared in the catalog ("string[]" for an array), else guessed from
 *  the value like the server, an array of it for contains_any (tree.py: filter_type). */
export function attributeType(catalog, eventName, param, value, op) {
  const event = catalog.events.find((each) => each.name === eventName);
  const declared = event?.attributes.find((attribute) => attribute.name === param);
  if (declared) return declared.type;
  return ARRAY_ONLY_OPS.includes(op) ? `${valueType(value)}[]` : valueType(value);
}

/** The type of the values an operator on `type` takes: an array's elements' type. */
export function elementType(type) {
  return type.endsWith("[]") ? type.slice(0, -2) : type;
}

/** The type of a value of an undeclared param or custom field (tree.py: value_type). */
export function valueType(value) {
  const sample = Array.isArray(value) ? value[0] : value;
  if (typeof sample === "boolean") return "boolean";
  if (typeof sample === "number") return "number";
  return "string";
}

export function operatorsFor(type) {
  return OPERATORS_BY_TYPE[type] ?? OPERATORS_BY_TYPE.string;
}

/** The type a contact condition compares by: a listed field's, else its value's. */
export function contactFieldType(node) {
  return CONTACT_FIELDS[node.field] ?? valueType(node.value);
}

/** A filter (or contact condition) after its operator changed: the value takes the shape the
 *  operator wants (none, a list, a pair), keeping what was typed where it fits. */
export function withOperator(filter, op, type) {
  const { value: previous, ...rest } = filter;
  if (VALUELESS_OPS.includes(op)) return { ...rest, op };
  const object = previous !== null && typeof previous === "object" && !Array.isArray(previous);
  if (CIRCLE_OPS.includes(op)) return { ...rest, op, value: object && "km" in previous ? previous : { lat: "", lon: "", km: "" } };
  if (RELATIVE_DATE_OPS.includes(op)) return { ...rest, op, value: object && "unit" in previous ? previous : { amount: 1, unit: "day" } };
  const value = object ? undefined : previous; // a circle or a span of days fits no other operator
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (LIST_OPS.includes(op)) return { ...rest, op, value: items.length ? items : [emptyValue(type)] };
  if (op === "between") return { ...rest, op, value: [items[0] ?? emptyValue(type), items[1] ?? emptyValue(type)] };
  return { ...rest, op, value: items[0] ?? emptyValue(type) };
}

function emptyValue(type) {
  return elementType(type) === "boolean" ? true : "";
}

/** A value as typed in a text box, converted to the JSON type the server compares by. Text that
 *  is not a number stays text (the check then says so). */
export function parseValue(text, type) {
  if (type === "number") {
    const trimmed = String(text).trim();
    return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : text;
  }
  if (type === "boolean") return text === true || text === "true";
  return text;
}

/** A list typed as "a, b, c". */
export function parseList(text, type) {
  return String(text)
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "")
    .map((item) => parseValue(item, type));
}

// Days and times ----------------------------------------------------------------------------------
export const isDayText = (value) => typeof value === "string" && DAY_TEXT.test(value);

/** Whether `value` is a calendar day "YYYY-MM-DD" the server accepts. */
export function isDay(value) {
  if (!isDayText(value) || value < EARLIEST_DAY || value > LATEST_DAY) return false;
  const midnight = Date.parse(`${value}T00:00:00Z`); // NaN for month 13; 30 February rolls over
  return !Number.isNaN(midnight) && new Date(midnight).toISOString().slice(0, 10) === value;
}

/** Whether a filter on `type` with `op` may name days (a date, not an array of dates). */
export function takesDays(type, op) {
  return type === "date" && DAY_OPS.includes(op);
}

/** "day" or "time": what a date value (or pair) names; `preferred` while it names nothing yet. */
export function dateModeOf(value, preferred = "day") {
  const given = (Array.isArray(value) ? value : [value]).filter((v) => typeof v === "string" && v !== "");
  if (given.some((v) => !isDayText(v))) return "time";
  return given.length ? "day" : preferred;
}

/** A date value (or pair) in `mode`: an instant becomes its UTC day (the day its UTC box shows),
 *  a day its UTC midnight; empty values stay empty. */
export function inDateMode(value, mode) {
  if (Array.isArray(value)) return value.map((each) => inDateMode(each, mode));
  if (typeof value !== "string" || value === "" || Number.isNaN(Date.parse(value))) return value;
  if (mode === "day") return isDayText(value) ? value : new Date(value).toISOString().slice(0, 10);
  return isDayText(value) ? `${value}T00:00:00Z` : value;
}

// Paths and errors ----------------------------------------------------------------------------------
/** Each node's JSON path, as the server names them in its errors: id -> path. */
export function pathsById(state, path = "conditions", paths = new Map()) {
  paths.set(state.id, path);
  if (GROUPS.includes(state.type)) {
    state.conditions.forEach((child, n) => pathsById(child, `${path}.conditions[${n}]`, paths));
  }
  if (state.type === "not" && state.condition) pathsById(state.condition, `${path}.condition`, paths);
  return paths;
}

/** Errors {path: [reasons]} as {card id: [{field, reason}]}: each goes to the deepest card whose
 *  path starts it; `field` is the rest of the path ("period.unit", "where[0].value"), "" for the
 *  card itself. An error on a NOT goes to the card it negates. */
export function errorsByCard(state, errors) {
  const paths = [...pathsById(state)].map(([id, path]) => ({ id, path }));
  const negated = (id) => (findNode(state, id)?.type === "not" ? findNode(state, id).condition.id : id);
  const byCard = {};
  for (const [path, reasons] of Object.entries(errors ?? {})) {
    const owner = paths
      .filter((each) => path === each.path || path.startsWith(`${each.path}.`))
      .sort((a, b) => b.path.length - a.path.length)[0] ?? paths[0];
    const field = path.slice(owner.path.length).replace(/^\./, "");
    const card = field === "condition" || field === "" ? negated(owner.id) : owner.id;
    for (const reason of reasons) (byCard[card] ??= []).push({ field: field === "condition" ? "" : field, reason });
  }
  return byCard;
}

// Checks before a preview ----------------------------------------------------------------------
/** The obvious mistakes, found before asking the server: {path: [reasons]} like its errors. */
export function checkTree(state, catalog) {
  const errors = {};
  const fail = (path, reason) => (errors[path] ??= []).push(reason);
  const paths = pathsById(state);
  const visit = (node) => {
    const path = paths.get(node.id);
    CHECKS[node.type]?.(node, path, fail, catalog);
    children(node).forEach(visit);
  };
  visit(state);
  return errors;
}

const isWhole = (value, min) => Number.isInteger(value) && value >= min;

function checkGroup(node, path, fail) {
  if (!node.conditions.length) fail(path, "add at least one condition");
}

function checkEventName(node, path, fail, catalog) {
  if (!node.event) return fail(`${path}.event`, "choose an event");
  if (!catalog.events.some((event) => event.name === node.event)) {
    fail(`${path}.event`, `${node.event} is not enabled for segmentation in this app`);
  }
}

function checkPeriod(period, path, fail) {
  if (period === undefined || typeof period === "string") return;
  if (period.type === "last" || period.type === "older_than") {
    if (!isWhole(period.amount, 1)) fail(`${path}.amount`, "enter a whole number, 1 or more");
  }
  if (period.type === "between") {
    if (!period.from) fail(`${path}.from`, "enter a start date");
    if (!period.to) fail(`${path}.to`, "enter an end date");
    if (period.from && period.to && Date.parse(period.from) >= Date.parse(period.to)) {
      fail(`${path}.to`, "must be after the start");
    }
  }
}

function checkValue(spec, type, path, fail) {
  if (VALUELESS_OPS.includes(spec.op)) return;
  if (CIRCLE_OPS.includes(spec.op)) return checkCircle(spec.value ?? {}, `${path}.value`, fail);
  if (RELATIVE_DATE_OPS.includes(spec.op)) {
    const { amount, unit } = spec.value ?? {};
    if (!isWhole(amount, 1) || amount > MAX_RELATIVE_AMOUNT) fail(`${path}.value.amount`, `enter a whole number from 1 to ${MAX_RELATIVE_AMOUNT}`);
    if (!RELATIVE_DATE_UNITS.includes(unit)) fail(`${path}.value.unit`, "choose days, weeks or months");
    return;
  }
  const array = type.endsWith("[]");
  type = elementType(type);
  const values = Array.isArray(spec.value) ? spec.value : [spec.value];
  if (!values.length) return fail(`${path}.value`, "enter at least one value");
  for (const value of values) {
    if (value === "" || value === undefined || value === null) return fail(`${path}.value`, "enter a value");
    if (type === "number" && typeof value !== "number") return fail(`${path}.value`, "enter a number");
    if (type === "date" && (isDayText(value) ? !isDay(value) : Number.isNaN(Date.parse(value)))) return fail(`${path}.value`, "enter a date");
    if (type === "date" && array && isDayText(value)) return fail(`${path}.value`, "enter a time: an array of dates holds instants, not days");
  }
}

function checkCircle({ lat, lon, km }, path, fail) {
  const within = (value, low, high) => typeof value === "number" && value >= low && value <= high;
  if (!within(lat, -90, 90)) fail(`${path}.lat`, "enter a latitude from -90 to 90");
  if (!within(lon, -180, 180)) fail(`${path}.lon`, "enter a longitude from -180 to 180");
  if (typeof km !== "number" || !(km > 0)) fail(`${path}.km`, "enter a distance in km above 0");
}

function checkFilters(node, path, fail, catalog) {
  (node.where ?? []).forEach((filter, n) => {
    const where = `${path}.where[${n}]`;
    if (!filter.param) return fail(`${where}.param`, "choose a parameter");
    checkValue(filter, attributeType(catalog, node.event, filter.param, filter.value, filter.op), where, fail);
  });
}

const CHECKS = {
  and: checkGroup,
  or: checkGroup,
  event(node, path, fail, catalog) {
    checkEventName(node, path, fail, catalog);
    if (node.count && !isWhole(node.count.value, 0)) fail(`${path}.count.value`, "enter a whole number, 0 or more");
    checkPeriod(node.period, `${path}.period`, fail);
    checkFilters(node, path, fail, catalog);
    if (node.aggregate) {
      if (!node.aggregate.param) fail(`${path}.aggregate.param`, "choose a number parameter");
      if (typeof node.aggregate.value !== "number") fail(`${path}.aggregate.value`, "enter a number");
    }
  },
  first_event(node, path, fail, catalog) {
    checkEventName(node, path, fail, catalog);
    checkPeriod(node.period, `${path}.period`, fail);
  },
  last_event(node, path, fail, catalog) {
    CHECKS.first_event(node, path, fail, catalog);
  },
  streak(node, path, fail, catalog) {
    checkEventName(node, path, fail, catalog);
    if (!isWhole(node.periods, 1) || node.periods > MAX_STREAK_PERIODS) {
      fail(`${path}.periods`, `enter a whole number from 1 to ${MAX_STREAK_PERIODS}`);
    }
    checkFilters(node, path, fail, catalog);
  },
  contact(node, path, fail) {
    if (node.field === "custom." || !node.field) return fail(`${path}.field`, "name the custom field");
    checkValue(node, contactFieldType(node), path, fail);
  },
  segment(node, path, fail) {
    if (!Number.isInteger(node.segment)) fail(`${path}.segment`, "choose a segment");
  },
};
