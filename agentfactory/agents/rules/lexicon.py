"""The words the rule parser knows, as plain data: edit here, not in the code.

Every entry is a string or a tuple of strings; a phrase of several words is
written with single spaces ("get rid of"). Keywords are lower case; matching
ignores case. Adding a synonym is adding one string to one tuple; the modules
beside this one build their lookup tables from these values at import time and
never spell a keyword themselves.
"""

from __future__ import annotations

# -- verbs ----------------------------------------------------------------------
#: Verb phrase -> family. The family picks the slot filler: "assimilate" needs a
#: source URI, "retrieve" one blob, "query"/"prompt"/"list"/"question" fill a
#: listing ("prompt" verbs take the search text as their object), and
#: "prune"/"destroy"/"ambiguous" remove things (see the package docstring).
#: The longest phrase wins, so "get rid of" beats "get" and "look up" beats "look".
VERBS: dict[str, tuple[str, ...]] = {
    "assimilate": (
        "load", "ingest", "import", "assimilate", "add", "store", "put", "upload", "copy", "save", "push",
        "bring in", "pull in",
    ),
    "retrieve": (
        "get", "retrieve", "fetch", "read", "open", "show", "show me", "give me", "give", "display", "view",
        "cat", "print", "download", "pull up", "bring up", "see", "look at", "take a look at",
    ),
    "query": ("query", "search", "find", "find me", "rank"),
    "prompt": ("search for", "look for", "look up", "hunt for", "grep"),
    "list": ("list", "ls", "enumerate", "dir", "browse", "list out", "list all"),
    "question": (
        "what", "which", "what's", "whats", "how many", "is there", "are there", "do we have", "do you have",
        "does anything", "is anything", "anything",
    ),
    "prune": ("prune", "evict", "uncache", "un-cache", "expire", "invalidate", "flush"),
    "destroy": (
        "destroy", "purge", "wipe", "erase", "nuke", "obliterate", "permanently delete", "permanently remove",
        "permanently erase", "permanently destroy", "permanently drop", "permanently wipe",
    ),
    "ambiguous": (
        "delete", "remove", "drop", "rm", "del", "get rid of", "clear", "trash", "discard",
    ),
}

#: Said before the verb and ignored.
POLITE_OPENERS: tuple[str, ...] = (
    "please", "kindly", "pls", "plz", "hey", "hi", "hello", "ok", "okay", "so", "now", "then", "just", "also",
    "and", "agent", "can you", "could you", "would you", "will you", "can u", "could u", "you can",
    "i want to", "i wanna", "i'd like to", "id like to", "i would like to", "i need to", "i need you to",
    "i want you to", "let's", "lets", "let me", "go ahead and", "try to", "help me", "tell me", "quickly",
)
#: Said after everything else and ignored.
POLITE_CLOSERS: tuple[str, ...] = ("please", "pls", "thanks", "thank you", "thx", "for me", "now", "right now", "asap")

# -- clause intros --------------------------------------------------------------
#: Words that start the search text of a query.
PROMPT_INTROS: tuple[str, ...] = (
    "about", "regarding", "concerning", "related to", "relating to", "relevant to", "pertaining to",
    "to do with", "dealing with", "mentioning", "mention", "mentions", "that mention", "that mentions",
    "which mention", "which mentions", "that talk about", "talking about", "discussing", "discuss",
    "discusses", "that discuss", "that discusses", "containing", "that contain", "that contains",
    "with text", "with the text", "with the words", "with words", "on the topic of", "on the subject of",
    "similar to", "matching", "that match", "that matches",
)
#: Words that start the tag scope of a listing ("in docs", "tagged sim_*").
SCOPE_INTROS: tuple[str, ...] = (
    "in", "under", "within", "inside", "across", "among", "tagged", "with tag", "with tags", "of", "from",
    "out of", "on tag", "for tag", "for tags",
)
#: Words that start the tag of a blob ("get a.md from docs", "prune a.md in docs").
BLOB_SCOPE_INTROS: tuple[str, ...] = ("from", "in", "of", "under", "within", "inside", "out of", "on")
#: Words that start the destination of a load ("into docs", "as sim_run1").
DEST_INTROS: tuple[str, ...] = ("into", "as", "to", "under", "in", "inside", "tagged", "with tag")
#: Words that start a format hint ("format text").
FORMAT_INTROS: tuple[str, ...] = ("format", "with format", "using format", "in format")
#: Words that start a second source clause of a load ("load x from folder::/d").
SOURCE_INTROS: tuple[str, ...] = ("from", "out of")
#: Scope intros that also glue ordinary English ("history of science", "reports
#: from 2020"): after a prompt or a real head word they only count when "tag" follows.
WEAK_SCOPE_INTROS: frozenset[str] = frozenset({"of", "from", "for", "on", "out", "among"})

#: A phrase anywhere in a removal that makes it permanent (destroy).
PERMANENCE: tuple[str, ...] = (
    "permanently", "forever", "for good", "for ever", "completely", "entirely", "irreversibly",
    "irrevocably", "everywhere", "from iowarp", "from storage", "from the storage", "from the store",
    "from persistent storage", "from disk", "from everywhere", "from both tiers", "from all tiers",
    "and all its blobs", "and all their blobs", "and all its data", "and all their data",
    "with all its blobs", "with all their blobs", "including its blobs", "including their blobs",
    "and everything in it", "and everything in them",
)

# -- word classes ---------------------------------------------------------------
ARTICLES: frozenset[str] = frozenset({"the", "a", "an"})
CACHE_WORDS: frozenset[str] = frozenset({"cache", "cached", "caches", "memcached", "uncache"})
#: Words that make a scope mean every tag ("across all tags").
STAR_WORDS: frozenset[str] = frozenset({"all", "any", "every", "each", "everywhere"})
#: Words around a tag name that are not the name ("the docs tag", "tag named x").
TAG_FILLER: frozenset[str] = ARTICLES | frozenset(
    {"tag", "tags", "named", "called", "my", "our", "this", "blobs", "files", "contents", "only", "just",
     "are", "is", "currently", "now", "right", "stored", "held", "kept", "present", "available", "persistently"}
)
#: Words in a listing's head that are not a tag or search text ("what blobs are there").
HEAD_FILLER: frozenset[str] = ARTICLES | frozenset({
    "all", "of", "me", "us", "my", "our", "your", "blobs", "blob", "files", "file", "documents", "document", "items",
    "item", "entries", "entry", "objects", "object", "contents", "content", "data", "stuff", "things", "everything",
    "anything", "every", "any", "tags", "tag", "cached", "stored", "what", "whats", "what's", "which", "is", "are",
    "there", "do", "does", "we", "i", "you", "have", "has", "got", "hold", "holds", "held", "kept", "keep",
    "currently", "right", "now", "exist", "exists", "available", "only", "results", "result", "matches", "match",
    "hits", "hit", "some", "that", "those", "these", "list", "most", "relevant", "recent", "through", "names",
    "name", "present", "persistently", "persisted", "listed", "known", "so", "far"
})
#: A filler word of a listing's head that is a plausible tag on its own ("list results").
SOLO_TAG_OK: frozenset[str] = frozenset({"data", "results"})
#: Nouns a query's head uses for the things sought, never a search text on their own.
GENERIC_NOUNS: frozenset[str] = HEAD_FILLER | frozenset({"docs", "reports", "papers", "notes", "records"})
#: Words that turn a retrieve verb into a listing ("show me all blobs", "get everything").
LISTING_WORDS: frozenset[str] = frozenset(
    {"blobs", "files", "everything", "anything", "contents", "what", "what's", "whats", "documents", "items",
     "entries", "list", "tags", "cached", "all", "results", "matches"}
)
#: A question is about stored blobs only with one of these ("what time is it" is not).
QUESTION_SIGNAL: frozenset[str] = frozenset(
    {"blob", "blobs", "file", "files", "tags", "tag", "data", "cached", "stored", "documents", "items", "entries",
     "contents", "anything", "everything", "available", "many"}
)
#: Nouns naming a blob's contents: "the contents of notes.txt" is notes.txt.
CONTENT_NOUNS: frozenset[str] = frozenset({"contents", "content", "data", "bytes", "text", "body"})
RETRIEVE_FILLER: frozenset[str] = ARTICLES | frozenset(
    {"me", "us", "blob", "file", "document", "named", "called", "object", "entry", "item", "single"}
)
#: Retrieve verbs that, with a tag and no blob, mean "show me the listing".
SHOW_VERBS: frozenset[str] = frozenset({"show", "show me", "display", "view", "see", "give me", "give"})
PRUNE_FILLER: frozenset[str] = ARTICLES | frozenset(
    {"blob", "blobs", "file", "files", "named", "called", "both", "these", "those", "following", "cached",
     "entries", "entry", "only", "just", "copy", "copies", "cache", "caches", "of"}
)
DESTROY_FILLER: frozenset[str] = ARTICLES | frozenset(
    {"tag", "tags", "named", "called", "both", "these", "those", "following", "entire", "whole"}
)
TAG_WORDS: frozenset[str] = frozenset({"tag", "tags"})
NAME_SEPARATORS: frozenset[str] = frozenset({"and", "&", "plus"})
EVERYTHING: frozenset[str] = frozenset({"all", "everything", "every", "any", "anything"})
BLOB_WORDS: frozenset[str] = frozenset({"blob", "blobs", "file", "files"})
#: Nouns before a load's source or destination ("the file file::a.csv", "into storage as docs").
SOURCE_NOUNS: frozenset[str] = ARTICLES | frozenset(
    {"file", "folder", "directory", "dataset", "source", "archive"}
)
FORMATS: frozenset[str] = frozenset({"text", "binary", "hdf5"})

# -- result limits --------------------------------------------------------------
NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
)
#: "<number> <noun>" is a limit ("3 results").
LIMIT_NOUNS: frozenset[str] = frozenset(
    {"results", "result", "hits", "hit", "matches", "match", "blobs", "blob", "files", "file", "items", "documents",
     "docs", "entries", "most", "best", "top", "closest", "records"}
)
#: Words after a limit that never name a tag or a topic ("top 3 best matches").
RESULT_NOUNS: frozenset[str] = frozenset(
    {"results", "result", "hits", "hit", "matches", "match", "best", "top", "most", "relevant", "closest", "similar"}
)
#: "<word> <number>" is a limit ("top 3").
LIMIT_WORDS: frozenset[str] = frozenset({"top", "best", "first"})
#: "the top result" means one.
SINGLE_RESULT: frozenset[str] = frozenset({"result", "match", "hit", "blob"})
#: "<phrase> <number>" is a limit ("at most 10").
LIMIT_PHRASES: tuple[str, ...] = (
    "at most", "up to", "no more than", "not more than", "max", "maximum", "max of", "maximum of", "limit",
    "limit to", "limited to", "max_results", "max-results", "cap at", "capped at",
)
#: "<key>=<number>" written as one word is a limit ("max_results=4").
LIMIT_KEYS: tuple[str, ...] = ("max_results", "max-results", "limit", "top", "max", "n")
