"""A varied, deterministic corpus of paragraphs for trying the difference views (issue 6).

  .venv/bin/python -m bench.corpus_paragraphs --n 300 --out bench/data/paragraphs.txt

Paragraphs are separated by one blank line (score them with `--split paragraph`),
so no paragraph contains a blank line. Kinds, in rotation: prose, code (Python,
JavaScript, SQL, shell), numbers (prices, dates, percentages, tables),
dialogue, lists (bullets, numbered steps), and a few mixed ones (JSON, URLs,
Markdown). Built from templates with a seeded random generator, so the same
arguments always give the same file; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

NAMES = ["Alice", "Bob", "Chen", "Dana", "Emeka", "Farah", "Gustavo", "Hana", "Ivan", "Julia", "Kofi", "Lena",
         "Marco", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tomoko"]
CITIES = ["Lisbon", "Nairobi", "Osaka", "Toronto", "Krakow", "Lima", "Hanoi", "Oslo", "Cairo", "Melbourne",
          "Bristol", "Valparaíso", "Tbilisi", "Dakar", "Montréal"]
NOUNS = ["lighthouse", "bakery", "library", "river", "garden", "bridge", "market", "harbour", "orchard", "station",
         "workshop", "museum", "forest", "village", "observatory"]
ADJS = ["old", "quiet", "crowded", "narrow", "bright", "forgotten", "wooden", "famous", "tiny", "busy", "cold",
        "ancient", "modern", "strange", "peaceful"]
VERBS_PAST = ["walked to", "painted", "repaired", "photographed", "visited", "described", "measured", "cleaned",
              "sketched", "explored"]
TIMES = ["In the morning", "Before dawn", "Every Sunday", "Last winter", "After the storm", "Years later",
         "On the first day of spring", "At noon", "Late one evening", "During the festival"]
FEELINGS = ["tired but happy", "a little lost", "curious", "relieved", "nervous", "proud", "amused", "homesick"]
FOODS = ["bread", "soup", "coffee", "oranges", "rice", "cheese", "tea", "dumplings", "figs", "pancakes"]
TOPICS = ["photosynthesis", "plate tectonics", "the water cycle", "supply and demand", "vaccination",
          "compound interest", "the printing press", "continental drift", "electric circuits", "bird migration"]
FACTS = {
    "photosynthesis": "plants turn light, water and carbon dioxide into sugar and oxygen",
    "plate tectonics": "the Earth's crust is broken into plates that move a few centimetres a year",
    "the water cycle": "water evaporates, condenses into clouds and falls again as rain or snow",
    "supply and demand": "prices rise when buyers want more of something than sellers offer",
    "vaccination": "a harmless piece of a germ teaches the immune system to recognise it",
    "compound interest": "interest is earned on earlier interest as well as on the original sum",
    "the printing press": "movable type made books cheaper and spread ideas across Europe",
    "continental drift": "the continents were once joined and have slowly moved apart",
    "electric circuits": "current flows only when there is a closed path from one terminal to the other",
    "bird migration": "many birds fly thousands of kilometres each year to find food and breed",
}
FUNCS = ["total", "average", "count_words", "clamp", "merge", "parse_line", "is_prime", "fib", "load_config",
         "normalize"]
VARS = ["items", "values", "data", "rows", "text", "numbers", "scores", "users", "lines", "prices"]
TABLES = ["orders", "customers", "products", "invoices", "employees", "events"]
COLUMNS = ["id", "name", "price", "created_at", "city", "amount", "status", "email", "quantity"]
ITEMS = ["apples", "pears", "milk", "eggs", "flour", "butter", "batteries", "a notebook", "stamps", "rice",
         "tomatoes", "olive oil", "soap", "candles", "string"]
STEPS = ["Preheat the oven to {n} degrees.", "Mix the flour with {n} grams of sugar.", "Let it rest for {n} minutes.",
         "Cut the dough into {n} pieces.", "Bake for {n} minutes until golden.", "Add {n} ml of water slowly.",
         "Stir every {n} seconds.", "Cool on a rack for {n} minutes."]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]


def prose(r: random.Random) -> str:
    name, city, noun = r.choice(NAMES), r.choice(CITIES), r.choice(NOUNS)
    s = [
        f"{r.choice(TIMES)}, {name} {r.choice(VERBS_PAST)} the {r.choice(ADJS)} {noun} near {city}.",
        f"The {noun} had been there for as long as anyone could remember, and people still argued about who built it.",
        f"{name} felt {r.choice(FEELINGS)} and stopped to buy some {r.choice(FOODS)} from a stall by the road.",
        f"Nobody in {city} expected the {r.choice(ADJS)} {r.choice(NOUNS)} to become so popular with visitors.",
        f"When the rain started, {name} and {r.choice(NAMES)} waited under the roof of the {r.choice(NOUNS)}.",
        f"It was the kind of place where time seemed to slow down, and {name} liked that very much.",
    ]
    r.shuffle(s)
    return " ".join(s[: r.randint(3, 5)])


def explainer(r: random.Random) -> str:
    topic = r.choice(TOPICS)
    return (f"To understand {topic}, start with a simple idea: {FACTS[topic]}. Teachers often explain it with an "
            f"example from everyday life, because abstract definitions are hard to remember. Once the basic idea "
            f"is clear, the details of {topic} become much easier to follow, and students can ask better questions.")


def python_code(r: random.Random) -> str:
    f, v = r.choice(FUNCS), r.choice(VARS)
    bodies = [
        f"def {f}({v}):\n    result = 0\n    for x in {v}:\n        result += x\n    return result",
        f"def {f}({v}, limit={r.randint(2, 100)}):\n    \"\"\"Return the first items below the limit.\"\"\"\n"
        f"    return [x for x in {v} if x < limit]",
        f"import json\n\ndef {f}(path):\n    with open(path, encoding=\"utf-8\") as handle:\n        return json.load(handle)".replace("\n\n", "\n"),
        f"class {f.title().replace('_', '')}:\n    def __init__(self, {v}):\n        self.{v} = list({v})\n\n"
        f"    def __len__(self):\n        return len(self.{v})".replace("\n\n", "\n"),
        f"for i in range({r.randint(3, 20)}):\n    if i % {r.randint(2, 5)} == 0:\n        print(i, \"{f}\")\n    else:\n        continue",
    ]
    return r.choice(bodies)


def js_code(r: random.Random) -> str:
    f, v = r.choice(FUNCS), r.choice(VARS)
    camel = f.split("_")[0] + "".join(p.title() for p in f.split("_")[1:])
    return r.choice([
        f"function {camel}({v}) {{\n  const out = [];\n  for (const x of {v}) {{\n    if (x > {r.randint(0, 9)}) out.push(x * 2);\n  }}\n  return out;\n}}",
        f"const {camel} = ({v}) => {v}.filter(Boolean).map((x) => x.trim());\nconsole.log({camel}([\" a \", \"\", \"b\"]));",
        f"fetch(\"/api/{v}?page={r.randint(1, 9)}\")\n  .then((res) => res.json())\n  .then(({v}) => render({v}))\n  .catch((err) => console.error(err));",
    ])


def sql_or_shell(r: random.Random) -> str:
    t, c1, c2 = r.choice(TABLES), r.choice(COLUMNS), r.choice(COLUMNS)
    return r.choice([
        f"SELECT {c1}, COUNT(*) AS n\nFROM {t}\nWHERE {c2} IS NOT NULL\nGROUP BY {c1}\nORDER BY n DESC\nLIMIT {r.randint(5, 50)};",
        f"$ mkdir -p build && cd build\n$ cmake .. -DCMAKE_BUILD_TYPE=Release\n$ make -j{r.randint(2, 16)}\n$ ./run_tests --verbose",
        f"git checkout -b fix-{r.choice(FUNCS).replace('_', '-')}\ngit add src/{r.choice(FUNCS)}.py\ngit commit -m \"Fix off-by-one in {r.choice(FUNCS)}\"\ngit push origin HEAD",
    ])


def numbers(r: random.Random) -> str:
    q = r.randint(1, 4)
    y = r.randint(2015, 2025)
    rev = r.randint(100, 999) + r.randint(0, 99) / 100
    pct = r.randint(1, 40) + r.randint(0, 9) / 10
    return r.choice([
        f"In Q{q} {y}, revenue reached ${rev:.2f} million, up {pct}% from the same quarter of {y - 1}. "
        f"Operating costs were ${r.randint(50, 90)}.{r.randint(10, 99)} million and the company hired {r.randint(12, 400)} people.",
        f"The train leaves at {r.randint(5, 22):02d}:{r.choice(['05', '15', '30', '45'])} on {r.randint(1, 28)} "
        f"{r.choice(MONTHS)} {y} and arrives {r.randint(2, 9)} hours later; a ticket costs €{r.randint(19, 149)}.{r.choice(['00', '50', '99'])}.",
        f"Results: {r.randint(10, 99)} of {r.randint(100, 200)} samples passed ({pct}%), mean = {r.uniform(0, 10):.3f}, "
        f"sd = {r.uniform(0, 2):.3f}, p = 0.0{r.randint(1, 49):02d}.",
        "| year | visitors | growth |\n| --- | --- | --- |\n" + "\n".join(
            f"| {y + i} | {r.randint(1000, 99999):,} | {r.uniform(-5, 15):.1f}% |" for i in range(r.randint(3, 5))),
        f"{r.randint(2, 99)} + {r.randint(2, 99)} = ?, {r.randint(2, 12)} × {r.randint(2, 12)} = ?, and "
        f"{r.randint(100, 999)} ÷ {r.randint(2, 9)} ≈ ? were the first three questions on the test.",
    ])


def dialogue(r: random.Random) -> str:
    a, b = r.sample(NAMES, 2)
    food, city = r.choice(FOODS), r.choice(CITIES)
    lines = r.choice([
        [f"{a}: Are you coming to {city} next week?", f"{b}: I think so, if the trains are running.",
         f"{a}: Great! Bring some {food}.", f"{b}: Ha, fine. Anything else?", f"{a}: Just yourself."],
        [f"\"Did you finish the report?\" {a} asked.", f"\"Almost,\" said {b}. \"I need ten more minutes.\"",
         f"\"You said that an hour ago.\"", f"{b} laughed. \"This time I mean it.\""],
        [f"Q: How do I reset my password?", f"A: Click \"Forgot password\" on the login page and follow the link we email you.",
         f"Q: The email never arrived.", f"A: Check the spam folder, or write to support and mention your account number."],
    ])
    return "\n".join(lines)


def lists(r: random.Random) -> str:
    kind = r.randint(0, 2)
    if kind == 0:
        return "Shopping list:\n" + "\n".join(f"- {x}" for x in r.sample(ITEMS, r.randint(3, 6)))
    if kind == 1:
        steps = r.sample(STEPS, r.randint(3, 5))
        return "\n".join(f"{i + 1}. {s.format(n=r.choice([5, 10, 15, 20, 180, 200, 250]))}" for i, s in enumerate(steps))
    return "Things to pack for " + r.choice(CITIES) + ": " + ", ".join(r.sample(ITEMS, 4)) + ", and " + r.choice(ITEMS) + "."


def mixed(r: random.Random) -> str:
    name, city = r.choice(NAMES), r.choice(CITIES)
    return r.choice([
        f"{{\"name\": \"{name}\", \"city\": \"{city}\", \"age\": {r.randint(18, 90)}, \"active\": {r.choice(['true', 'false'])}, "
        f"\"tags\": [\"{r.choice(NOUNS)}\", \"{r.choice(ADJS)}\"]}}",
        f"## {r.choice(ADJS).title()} {r.choice(NOUNS)}s of {city}\nSee https://example.org/{city.lower()}/{r.choice(NOUNS)}s "
        f"for photos, or email {name.lower()}@example.com with corrections.",
        f"Dear {name},\nThank you for your letter of {r.randint(1, 28)} {r.choice(MONTHS)}. We will reply within "
        f"{r.randint(2, 10)} working days.\nKind regards,\nThe {city} {r.choice(NOUNS).title()} Team",
    ])


KINDS = [prose, explainer, python_code, js_code, sql_or_shell, numbers, dialogue, lists, mixed, prose, numbers]


def paragraphs(n: int, seed: int = 0) -> list[str]:
    r = random.Random(seed)
    out = []
    for i in range(n):
        text = KINDS[i % len(KINDS)](r)
        assert "\n\n" not in text, text  # a blank line would split the paragraph
        out.append(text)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench/data/paragraphs.txt")
    args = parser.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n\n".join(paragraphs(args.n, args.seed)) + "\n", encoding="utf-8")
    print(f"wrote {args.n} paragraphs to {out}")


if __name__ == "__main__":
    main()
