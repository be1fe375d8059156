"""Writes semantic_search.json: a labelled set for search by meaning. Deterministic: run it
again and the file is the same (`python tests/data/make_semantic_search.py`).

45 target conversations, each with a paraphrase query that shares few or no content words with
it ("how do I reverse a list" for a chat about flipping the order of an array), and 300
distractors made from a seeded random mix of topics, some close to the targets in meaning.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

# (what the user asked, what the assistant answered, the paraphrase query)
TARGETS = [
    ("Flip the order of an array in JavaScript?", "Call arr.reverse(); it flips the array in place.", "how do I reverse a list"),
    ("Remove repeated entries from a Python sequence", "Use dict.fromkeys(seq) to drop dupes and keep the order.", "delete duplicate items from a collection"),
    ("Glue two strings together in Go", "Use the + operator or strings.Builder to concatenate.", "join text values"),
    ("Chop a sentence into words", "text.split() breaks it on white space.", "tokenize a string"),
    ("Load a CSV document from disk with pandas", "pd.read_csv(path) opens it as a DataFrame.", "read a file into memory"),
    ("Persist a dict as YAML", "yaml.safe_dump(data, f) writes it out.", "save configuration to json"),
    ("My loop is sluggish with a million items", "Vectorise it with numpy; it will be much quicker.", "speed up slow code performance"),
    ("I get a traceback: KeyError in my script", "The key is missing; use dict.get to avoid the exception.", "fix a crash bug error"),
    ("Display a timestamp as YYYY-MM-DD", "datetime.strftime('%Y-%m-%d') renders it.", "format a date"),
    ("Download a web page with httpx", "httpx.get(url).text fetches it.", "make an http request to an api"),
    ("Write a SQL statement that groups rows by month", "GROUP BY strftime('%m', created) in sqlite.", "database query table"),
    ("Assert that a function raises in pytest", "Use with pytest.raises(ValueError): ...", "verify an exception in a unit test"),
    ("pip says a dependency conflict", "Pin the package version in requirements and reinstall.", "install package setup problem"),
    ("My service keeps using more RAM every hour", "That is a leak; profile the heap with tracemalloc.", "memory grows over time"),
    ("How long should I bake a sourdough loaf?", "About 45 minutes at 230 C, lid off for the last 15.", "cook bread recipe time"),
    ("Best way to roast vegetables for dinner", "Toss them in oil and roast at 220 C for 30 minutes.", "cook a meal in the oven"),
    ("Spaghetti sticks together when I boil it", "Use more water and stir in the first two minutes.", "pasta noodle clumping"),
    ("I lie awake until 3 am every night", "Keep a fixed bedtime and no screens an hour before.", "insomnia help sleep"),
    ("A beginner gym routine for three days a week", "Squat, press, row; three sets each, add weight weekly.", "workout plan fitness"),
    ("Planning a week in Lisbon in spring", "Base yourself in Alfama; take day trips to Sintra.", "vacation trip ideas"),
    ("How do I stop overspending each month?", "Write a budget and track every expense for a month.", "save money finance"),
    ("The engine makes a knocking noise", "Check the oil level and the spark plugs first.", "car motor sound"),
    ("When to plant tomato seeds", "Start them indoors six weeks before the last frost.", "grow vegetables in a garden"),
    ("Teach a puppy to stop biting", "Redirect to a toy and stop play when teeth touch skin.", "dog training"),
    ("My kitten scratches the sofa", "Give it a scratching post and reward its use.", "cat furniture"),
    ("Learn guitar chords quickly", "Practise two chords and switch between them for a minute daily.", "play music songs"),
    ("Memorise Spanish vocabulary", "Use spaced repetition flashcards, 20 words a day.", "study a language"),
    ("Help me outline a short story about a lighthouse", "Three acts: arrival, storm, the light goes out.", "write a novel plot"),
    ("How to prepare for a job interview", "Research the employer and rehearse answers aloud.", "career hire resume"),
    ("A headache that lasts three days", "See a doctor if the pain persists or is severe.", "health symptom"),
    ("Will it rain on Saturday?", "The forecast shows storms; take an umbrella.", "weather tomorrow"),
    ("Get red wine out of a carpet", "Blot, then scrub with dish soap and cold water.", "clean a stain"),
    ("Shrink a photo to a thumbnail", "Pillow: img.thumbnail((128, 128)).", "resize an image smaller"),
    ("Store user passwords safely", "Hash them with argon2; never encrypt reversibly.", "security of secrets"),
    ("Filter spam out of my inbox", "Create rules and mark junk mail as spam.", "email messages"),
    ("Too many meetings on my calendar", "Block focus time and decline optional appointments.", "schedule agenda deadline"),
    ("Ideas for my daughter's fifth birthday party", "A treasure hunt and a cake shaped like a castle.", "child celebration"),
    ("A present for my father who likes fishing", "A new reel or a tackle box.", "gift surprise"),
    ("Why does Mars look red?", "Iron oxide dust on the planet's surface.", "astronomy space"),
    ("Why did the Roman empire fall?", "Economic decline, invasions and divided rule over centuries.", "ancient history war"),
    ("Solve this quadratic equation: x^2 - 5x + 6", "Factor it: (x - 2)(x - 3), so x = 2 or 3.", "algebra math formula"),
    ("Undo my last git commit", "git reset --soft HEAD~1 keeps the changes staged.", "revert a commit in the repository"),
    ("Run my app in a Docker container", "Write a Dockerfile, docker build, then docker run.", "kubernetes pod container"),
    ("Too much caffeine makes me jittery", "Switch to half-caf or a latte with less espresso.", "coffee brew"),
    ("My bicycle tyre keeps going flat", "Check for a thorn and patch or replace the tube.", "bike tire repair"),
]

FILLER_OPENERS = ["Quick question:", "Hi!", "Can you help?", "I was wondering,", "Hello,", "Another one:", ""]
DISTRACTOR_TOPICS = [
    # (user text, assistant text) templates with {a} and {b} slots
    ("Compare {a} and {b} for a small project", "It depends on the project; {a} is simpler, {b} scales better."),
    ("Explain {a} to a beginner", "Think of {a} as a tool you use step by step."),
    ("What is the history of {a}?", "{a} started long ago and changed over the years."),
    ("Is {a} worth it compared to {b}?", "For most people {b} is enough, but {a} has its fans."),
    ("Give me three facts about {a}", "One: {a} is common. Two: it is old. Three: people like it."),
    ("Write a haiku about {a} and {b}", "Quiet {a} at dawn / {b} drifts across the field / morning settles in"),
]
NOUNS = [
    "Python", "Rust", "JavaScript", "numpy", "sqlite", "postgres", "a spreadsheet", "a laptop", "a keyboard",
    "a sorted array", "a linked list", "a hash map", "integers", "sorting numbers", "a text editor", "a calendar app",
    "the weather", "a picnic", "jazz", "the piano", "tennis", "swimming", "running shoes", "a garden shed",
    "houseplants", "apartment rent", "a mortgage", "a train ticket", "a hotel", "a museum", "green tea",
    "chess", "poetry", "an essay", "a blog", "a podcast", "the ocean", "mountains", "a telescope", "stars",
    "medieval castles", "a vaccine", "vitamins", "a smartphone battery", "an electric car", "a lawn mower",
    "a kitten", "a parrot", "a hamster", "laundry", "a dishwasher", "a vacuum cleaner", "origami", "knitting",
    "photography", "a camera lens", "a drone", "video games", "board games", "a birthday cake", "a wedding",
    "a job offer", "taxes", "insurance", "a credit card", "a savings account", "meditation", "yoga",
    "a marathon", "a bicycle helmet", "a tent", "a map", "a compass", "French grammar", "German verbs",
    "prime numbers", "random dice", "regular expressions", "git branches", "docker images", "json files",
]
N_DISTRACTORS = 300


def build() -> dict:
    rng = random.Random(14)
    conversations = []
    queries = []
    for i, (user, assistant, query) in enumerate(TARGETS):
        conversations.append({"key": f"t{i:02d}", "messages": [user, assistant]})
        queries.append({"query": query, "target": f"t{i:02d}"})
    for i in range(N_DISTRACTORS):
        a, b = rng.sample(NOUNS, 2)
        user, assistant = rng.choice(DISTRACTOR_TOPICS)
        opener = rng.choice(FILLER_OPENERS)
        conversations.append({"key": f"d{i:03d}", "messages": [f"{opener} {user.format(a=a, b=b)}".strip(),
                                                               assistant.format(a=a, b=b)]})
    rng.shuffle(conversations)  # targets are not the first or the last saved
    return {"about": "labelled paraphrase queries for search by meaning; made by make_semantic_search.py",
            "conversations": conversations, "queries": queries}


if __name__ == "__main__":
    out = Path(__file__).with_name("semantic_search.json")
    out.write_text(json.dumps(build(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
