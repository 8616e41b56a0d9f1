// Unit tests of the segment builder's model (segments/static/segments/builder/model.js), run by
// `node --test` from tests/segments/test_builder_model.py (so `make test` runs them).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  addChild,
  ARRAY_OPS,
  attributeType,
  checkTree,
  dateModeOf,
  elementType,
  emptyState,
  errorsByCard,
  findNode,
  fromTree,
  inDateMode,
  isDay,
  isNegated,
  newCondition,
  operatorsFor,
  parseList,
  parseValue,
  pathsById,
  periodOf,
  periodOfType,
  removeNode,
  setNegated,
  takesDays,
  toTree,
  updateNode,
  withOperator,
} from "../../segments/static/segments/builder/model.js";

const CATALOG = {
  events: [
    {
      name: "purchase_completed",
      attributes: [
        { name: "amount", type: "number" },
        { name: "category", type: "string" },
        { name: "gift", type: "boolean" },
        { name: "shipped_at", type: "date" },
        { name: "cart", type: "json" },
      ],
    },
    { name: "login", attributes: [] },
  ],
  segments: [{ id: 7, name: "Buyers" }],
};

// Every kind of node and period, defaults left out or spelled out, shorthand periods.
const EVERY_KIND = {
  type: "or",
  conditions: [
    {
      type: "and",
      conditions: [
        {
          type: "event",
          event: "purchase_completed",
          performed: true,
          count: { op: ">=", value: 2 },
          period: { type: "last", amount: 30, unit: "day" },
          where: [
            { param: "amount", op: "between", value: [10, 99.5] },
            { param: "category", op: "in", value: ["shoes", "hats"] },
            { param: "gift", op: "exists" },
          ],
          aggregate: { fn: "sum", param: "amount", op: ">", value: 100 },
        },
        { type: "event", event: "login", performed: false, period: "this_week" },
        { type: "event", event: "login", period: { type: "between", from: "2026-01-01T00:00:00+01:00", to: "2026-02-01T00:00:00Z" } },
      ],
    },
    { type: "not", condition: { type: "and", conditions: [{ type: "device", platform: "web", push_permission_granted: true }] } },
    { type: "first_event", event: "login", period: { type: "older_than", amount: 2, unit: "month" } },
    { type: "last_event", event: "login", period: { type: "yesterday" } },
    { type: "streak", event: "login", periods: 4, unit: "week", where: [] },
    { type: "contact", field: "custom.vip", op: "=", value: true },
    { type: "contact", field: "email", op: "not_exists" },
    { type: "segment", segment: 7 },
  ],
};

test("the tree emitted for a loaded tree equals it, defaults and shorthands included", () => {
  assert.deepEqual(toTree(fromTree(EVERY_KIND)), EVERY_KIND);
  const single = { type: "event", event: "login" };
  assert.deepEqual(toTree(fromTree(single)), single);
});

test("loading gives every node its own id and leaves the tree untouched", () => {
  const state = fromTree(EVERY_KIND);
  const ids = [...pathsById(state).keys()];
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(ids.length, 14);
  assert.equal(EVERY_KIND.id, undefined);
});

test("paths are the JSON paths the server names in its errors", () => {
  const state = fromTree(EVERY_KIND);
  const paths = [...pathsById(state).values()];
  assert.deepEqual(paths.slice(0, 4), [
    "conditions",
    "conditions.conditions[0]",
    "conditions.conditions[0].conditions[0]",
    "conditions.conditions[0].conditions[1]",
  ]);
  assert.ok(paths.includes("conditions.conditions[1].condition.conditions[0]"));
});

test("editing a card changes only its node, and an edit to undefined removes the key", () => {
  const state = fromTree(EVERY_KIND);
  const login = state.conditions[0].conditions[1];
  const edited = updateNode(state, login.id, { performed: undefined, period: { type: "today" } });
  assert.deepEqual(toTree(edited).conditions[0].conditions[1], { type: "event", event: "login", period: { type: "today" } });
  assert.equal(edited.conditions[1], state.conditions[1]); // untouched branches are kept as they were
  assert.deepEqual(toTree(state), EVERY_KIND);
});

test("building a tree: add conditions and a nested group, negate and un-negate a group", () => {
  let state = emptyState();
  state = addChild(state, state.id, newCondition("event", CATALOG));
  const group = newCondition("or");
  state = addChild(state, state.id, group);
  state = addChild(state, group.id, newCondition("device", CATALOG));
  state = addChild(state, group.id, { ...newCondition("contact"), value: "DE" });
  state = setNegated(state, group.id, true);
  assert.ok(isNegated(state, group.id));
  assert.deepEqual(toTree(state), {
    type: "and",
    conditions: [
      { type: "event", event: "purchase_completed" },
      {
        type: "not",
        condition: {
          type: "or",
          conditions: [
            { type: "device", platform: "web" },
            { type: "contact", field: "country", op: "=", value: "DE" },
          ],
        },
      },
    ],
  });
  state = setNegated(state, group.id, false);
  assert.equal(toTree(state).conditions[1].type, "or");
  assert.equal(isNegated(state, group.id), false);
});

test("adding to a root that is a single condition makes it an all-of group", () => {
  let state = fromTree({ type: "device" });
  state = addChild(state, state.id, newCondition("segment", CATALOG));
  assert.deepEqual(toTree(state), { type: "and", conditions: [{ type: "device" }, { type: "segment", segment: 7 }] });
});

test("removing a negated card removes its NOT too", () => {
  const state = fromTree({ type: "and", conditions: [{ type: "not", condition: { type: "device" } }, { type: "device", platform: "ios" }] });
  const negated = state.conditions[0].condition;
  assert.deepEqual(toTree(removeNode(state, negated.id)), { type: "and", conditions: [{ type: "device", platform: "ios" }] });
  assert.equal(removeNode(state, state.id), state); // the root stays
});

test("operators fit the attribute's type, declared or guessed from the value", () => {
  assert.equal(attributeType(CATALOG, "purchase_completed", "amount", "x"), "number");
  assert.equal(attributeType(CATALOG, "purchase_completed", "shipped_at", 1), "date");
  assert.equal(attributeType(CATALOG, "login", "anything", 3), "number");
  assert.equal(attributeType(CATALOG, "login", "anything", [true]), "boolean");
  assert.ok(operatorsFor("string").includes("contains"));
  assert.ok(!operatorsFor("number").includes("contains"));
  assert.ok(!operatorsFor("date").includes("in"));
  assert.deepEqual(operatorsFor("boolean"), ["=", "!=", "exists", "not_exists"]);
  assert.deepEqual(operatorsFor("json"), ["exists", "not_exists"]);
});

test("changing the operator gives the value the shape it needs", () => {
  const filter = { param: "amount", op: ">", value: 5 };
  assert.deepEqual(withOperator(filter, "between", "number"), { param: "amount", op: "between", value: [5, ""] });
  assert.deepEqual(withOperator(filter, "in", "number"), { param: "amount", op: "in", value: [5] });
  assert.deepEqual(withOperator(filter, "exists", "number"), { param: "amount", op: "exists" });
  assert.deepEqual(withOperator({ param: "gift", op: "exists" }, "=", "boolean"), { param: "gift", op: "=", value: true });
  assert.deepEqual(withOperator({ param: "c", op: "in", value: ["a", "b"] }, "=", "string"), { param: "c", op: "=", value: "a" });
});

test("typed values become numbers, booleans and lists of the attribute's type", () => {
  assert.equal(parseValue("42.5", "number"), 42.5);
  assert.equal(parseValue("abc", "number"), "abc");
  assert.equal(parseValue("", "number"), "");
  assert.equal(parseValue("false", "boolean"), false);
  assert.equal(parseValue("007", "string"), "007");
  assert.deepEqual(parseList("1, 2,,3 ", "number"), [1, 2, 3]);
  assert.deepEqual(parseList("DE, FR", "string"), ["DE", "FR"]);
});

test("periods: absent is lifetime, shorthands read as objects, a new type keeps what applies", () => {
  assert.deepEqual(periodOf({}), { type: "lifetime" });
  assert.deepEqual(periodOf({ period: "today" }), { type: "today" });
  assert.deepEqual(periodOfType("older_than", { type: "last", amount: 14, unit: "week" }), { type: "older_than", amount: 14, unit: "week" });
  assert.deepEqual(periodOfType("between"), { type: "between", from: "", to: "" });
  assert.deepEqual(periodOfType("this_month", { type: "last", amount: 3 }), { type: "this_month" });
});

test("a valid tree has no client-side errors", () => {
  assert.deepEqual(checkTree(fromTree(EVERY_KIND), CATALOG), {});
});

test("empty values and obvious mistakes are found before the preview, by path", () => {
  const tree = {
    type: "and",
    conditions: [
      { type: "event", event: "purchase_completed", count: { op: ">=", value: -1 }, where: [{ param: "amount", op: ">", value: "ten" }, { param: "", op: "=", value: "" }] },
      { type: "contact", field: "country", op: "=", value: "" },
      { type: "or", conditions: [] },
      { type: "event", event: "signup", period: { type: "last", amount: 0, unit: "day" } },
      { type: "streak", event: "login", periods: 61, unit: "day" },
      { type: "segment", segment: null },
      { type: "event", event: "login", period: { type: "between", from: "2026-02-01T00:00:00Z", to: "2026-01-01T00:00:00Z" } },
    ],
  };
  assert.deepEqual(checkTree(fromTree(tree), CATALOG), {
    "conditions.conditions[0].count.value": ["enter a whole number, 0 or more"],
    "conditions.conditions[0].where[0].value": ["enter a number"],
    "conditions.conditions[0].where[1].param": ["choose a parameter"],
    "conditions.conditions[1].value": ["enter a value"],
    "conditions.conditions[2]": ["add at least one condition"],
    "conditions.conditions[3].event": ["signup is not enabled for segmentation in this app"],
    "conditions.conditions[3].period.amount": ["enter a whole number, 1 or more"],
    "conditions.conditions[4].periods": ["enter a whole number from 1 to 60"],
    "conditions.conditions[5].segment": ["choose a segment"],
    "conditions.conditions[6].period.to": ["must be after the start"],
  });
});

test("server errors go to the deepest card their path names, with the field", () => {
  const state = fromTree(EVERY_KIND);
  const errors = {
    "conditions.conditions[0].conditions[0].where[1].op": ["'in' does not apply"],
    "conditions.conditions[0].conditions[2].period.to": ["must be after from"],
    "conditions.conditions[1].condition.conditions[0].platform": ["must be one of web, android, ios"],
    "conditions.conditions[1]": ["odd"],
    conditions: ["a segment cannot include itself, even indirectly"],
  };
  const byCard = errorsByCard(state, errors);
  const purchase = state.conditions[0].conditions[0];
  const between = state.conditions[0].conditions[2];
  const negatedGroup = state.conditions[1].condition;
  const device = negatedGroup.conditions[0];
  assert.deepEqual(byCard[purchase.id], [{ field: "where[1].op", reason: "'in' does not apply" }]);
  assert.deepEqual(byCard[between.id], [{ field: "period.to", reason: "must be after from" }]);
  assert.deepEqual(byCard[device.id], [{ field: "platform", reason: "must be one of web, android, ios" }]);
  assert.deepEqual(byCard[negatedGroup.id], [{ field: "", reason: "odd" }]); // a NOT's error: its group
  assert.deepEqual(byCard[state.id], [{ field: "", reason: "a segment cannot include itself, even indirectly" }]);
  assert.equal(findNode(state, device.id), device);
});

test("a location filter takes a circle: km, lat and lon, each checked on its own", () => {
  const catalog = { ...CATALOG, events: [{ name: "visit", attributes: [{ name: "geoloc_home", type: "geoloc" }] }] };
  assert.deepEqual(operatorsFor(attributeType(catalog, "visit", "geoloc_home")), ["within", "not_within", "exists", "not_exists"]);
  const within = withOperator({ param: "geoloc_home", op: "exists" }, "within", "geoloc");
  assert.deepEqual(within, { param: "geoloc_home", op: "within", value: { lat: "", lon: "", km: "" } });
  const typed = { ...within, value: { lat: parseValue("48.85", "number"), lon: 200, km: parseValue("0", "number") } };
  const node = { type: "event", event: "visit", where: [typed] };
  assert.deepEqual(checkTree(fromTree(node), catalog), {
    "conditions.where[0].value.lon": ["enter a longitude from -180 to 180"],
    "conditions.where[0].value.km": ["enter a distance in km above 0"],
  });
  const fine = { ...typed, value: { lat: 48.85, lon: 2.35, km: 10 } };
  assert.deepEqual(checkTree(fromTree({ ...node, where: [fine] }), catalog), {});
  // The circle stays through within <-> not_within, and fits no other operator.
  assert.deepEqual(withOperator(fine, "not_within", "geoloc").value, { lat: 48.85, lon: 2.35, km: 10 });
  assert.deepEqual(withOperator(fine, "exists", "geoloc"), { param: "geoloc_home", op: "exists" });
  assert.deepEqual(withOperator(fine, "=", "string"), { param: "geoloc_home", op: "=", value: "" });
});

test("a date filter relative to today takes an amount of days, weeks or months", () => {
  const filter = withOperator({ param: "shipped_at", op: "=", value: "2026-12-24" }, "within_next", "date");
  assert.deepEqual(filter, { param: "shipped_at", op: "within_next", value: { amount: 1, unit: "day" } });
  assert.deepEqual(withOperator({ ...filter, value: { amount: 3, unit: "week" } }, "within_last", "date").value, { amount: 3, unit: "week" });
  const node = { type: "event", event: "purchase_completed", where: [{ ...filter, value: { amount: 0, unit: "hour" } }] };
  assert.deepEqual(checkTree(fromTree(node), CATALOG), {
    "conditions.where[0].value.amount": ["enter a whole number from 1 to 1000"],
    "conditions.where[0].value.unit": ["choose days, weeks or months"],
  });
});

// Dates as days or times ---------------------------------------------------------------------------
test("a date operand may name a day with the comparisons and between, never in an array", () => {
  for (const op of ["=", "!=", "<", "<=", ">", ">=", "between"]) assert.ok(takesDays("date", op), op);
  for (const op of ["within_last", "within_next", "exists"]) assert.ok(!takesDays("date", op), op);
  assert.ok(!takesDays("date[]", "contains"));
  assert.ok(!takesDays("string", "="));
});

test("a date value opens in the mode it names; an empty one in the mode preferred, a day at first", () => {
  assert.equal(dateModeOf("2026-12-24"), "day");
  assert.equal(dateModeOf("2026-12-24T00:00:00Z"), "time");
  assert.equal(dateModeOf(["2026-12-24", "2026-12-31"]), "day");
  assert.equal(dateModeOf(["2026-12-24", "2026-12-31T10:00:00+01:00"]), "time"); // a time says more than a day
  assert.equal(dateModeOf(["2026-12-24", ""], "time"), "day");
  assert.equal(dateModeOf(""), "day");
  assert.equal(dateModeOf(["", ""], "time"), "time");
  assert.equal(dateModeOf(undefined, "time"), "time");
});

test("switching modes turns a time into its UTC day and a day into its UTC midnight", () => {
  assert.equal(inDateMode("2026-12-24T23:30:00Z", "day"), "2026-12-24");
  assert.equal(inDateMode("2026-12-24T00:30:00+09:00", "day"), "2026-12-23"); // the day its UTC box shows
  assert.equal(inDateMode("2026-12-24", "time"), "2026-12-24T00:00:00Z");
  assert.equal(inDateMode("2026-12-24", "day"), "2026-12-24");
  assert.deepEqual(inDateMode(["2026-12-24", "2026-12-31T10:00:00Z"], "day"), ["2026-12-24", "2026-12-31"]);
  assert.deepEqual(inDateMode(["", "2026-12-31"], "time"), ["", "2026-12-31T00:00:00Z"]);
  assert.equal(inDateMode("", "time"), "");
});

test("days are checked as calendar days in the server's range", () => {
  assert.ok(isDay("2026-12-24"));
  assert.ok(isDay("2028-02-29"));
  assert.ok(!isDay("2026-02-30"));
  assert.ok(!isDay("0001-01-01"));
  assert.ok(!isDay("2026-12-24T00:00:00Z"));
  const filters = [
    { param: "shipped_at", op: "=", value: "2026-12-24" },
    { param: "shipped_at", op: "between", value: ["2026-12-24", "2026-12-31T12:00:00Z"] },
    { param: "shipped_at", op: "<", value: "2026-02-30" },
    { param: "shipped_at", op: "between", value: ["2026-12-24", ""] },
  ];
  const tree = { type: "and", conditions: [
    { type: "event", event: "purchase_completed", where: filters },
    { type: "contact", field: "created_at", op: ">=", value: "2026-01-01" },
    { type: "contact", field: "last_seen", op: "<=", value: "2026-13-01" },
  ] };
  assert.deepEqual(checkTree(fromTree(tree), CATALOG), {
    "conditions.conditions[0].where[2].value": ["enter a date"],
    "conditions.conditions[0].where[3].value": ["enter a value"],
    "conditions.conditions[2].value": ["enter a date"],
  });
});

test("an array of dates takes times only: a day in it is caught before the preview", () => {
  const catalog = { events: [{ name: "trip", attributes: [{ name: "date_stops", type: "date[]" }] }], segments: [] };
  const where = [
    { param: "date_stops", op: "contains", value: "2026-12-24" },
    { param: "date_stops", op: "contains_any", value: ["2026-12-24T00:00:00Z", "2026-12-25"] },
    { param: "date_stops", op: "not_contains", value: "2026-12-24T00:00:00+01:00" },
  ];
  assert.deepEqual(checkTree(fromTree({ type: "event", event: "trip", where }), catalog), {
    "conditions.where[0].value": ["enter a time: an array of dates holds instants, not days"],
    "conditions.where[1].value": ["enter a time: an array of dates holds instants, not days"],
  });
});

// Arrays ----------------------------------------------------------------------------------------
const ARRAY_CATALOG = {
  events: [
    {
      name: "purchase_completed",
      attributes: [
        { name: "string_tags", type: "string[]" },
        { name: "int_sizes", type: "number[]" },
        { name: "category", type: "string" },
      ],
    },
  ],
  segments: [],
};

test("an array param offers the array operators, and only it offers contains_any", () => {
  assert.equal(attributeType(ARRAY_CATALOG, "purchase_completed", "string_tags", "x"), "string[]");
  assert.deepEqual(operatorsFor("string[]"), ["contains", "not_contains", "contains_any", "not_contains_any", "exists", "not_exists"]);
  assert.deepEqual(operatorsFor("number[]"), ARRAY_OPS);
  assert.ok(!operatorsFor("string").includes("contains_any"));
  assert.ok(!operatorsFor("number[]").includes("="));
  // an unknown param with an any-of filter is an array of the values' type, like the server's
  assert.equal(attributeType(ARRAY_CATALOG, "login", "sizes", [38], "contains_any"), "number[]");
  assert.equal(attributeType(ARRAY_CATALOG, "login", "sizes", 38, "contains"), "number");
  assert.equal(elementType("date[]"), "date");
  assert.equal(elementType("string"), "string");
});

test("contains takes one value of the elements' type, contains_any a list of them", () => {
  const filter = { param: "string_tags", op: "contains", value: "sale" };
  const any = withOperator(filter, "contains_any", "string[]");
  assert.deepEqual(any, { param: "string_tags", op: "contains_any", value: ["sale"] });
  assert.deepEqual(withOperator(any, "not_contains", "string[]"), { ...filter, op: "not_contains" });
  assert.deepEqual(withOperator({ param: "flags", op: "exists" }, "contains", "boolean[]"), { param: "flags", op: "contains", value: true });
  assert.deepEqual(parseList("38, 39.5", elementType("number[]")), [38, 39.5]);
});

test("array filters are checked against their elements' type before the preview", () => {
  const where = [
    { param: "string_tags", op: "contains_any", value: ["sale", "new"] },
    { param: "int_sizes", op: "contains", value: "big" },
    { param: "int_sizes", op: "contains_any", value: [] },
  ];
  const tree = fromTree({ type: "event", event: "purchase_completed", where });
  assert.deepEqual(checkTree(tree, ARRAY_CATALOG), {
    "conditions.where[1].value": ["enter a number"],
    "conditions.where[2].value": ["enter at least one value"],
  });
});
