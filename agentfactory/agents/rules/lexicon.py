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
#: listing ("prompt" verbs take the search text as their object), "lookup"
#: retrieves when its object is one file name and searches otherwise, and
#: "prune"/"destroy"/"ambiguous" remove things (see the package docstring).
#: The longest phrase wins, so "get rid of" beats "get" and "look up" beats "look".
VERBS: dict[str, tuple[str, ...]] = {
    "assimilate": (
        "load", "ingest", "import", "assimilate", "add", "store", "put", "upload", "copy", "save", "push",
        "cache", "stash", "bring in", "pull in", "take in", "suck in", "suck up", "throw", "toss", "feed",
    ),
    "retrieve": (
        "get", "retrieve", "fetch", "read", "open", "show", "show me", "give me", "give", "display", "view",
        "cat", "print", "download", "pull up", "bring up", "see", "look at", "take a look at", "bring", "grab",
        "return", "dig out", "fish out", "pull out", "pull", "pull down", "call up",
        # requests that say what is wanted without a verb of their own ("I need a.md from docs")
        "i want", "i need", "i'd like", "id like", "i would like", "we need", "we want", "i'm after", "im after",
        "can i have", "could i have", "may i have", "can we have", "could we have", "i'll take", "i require",
    ),
    "query": (
        "query", "search", "find", "find me", "rank", "seek", "hunt down", "dig up", "track down", "dig through",
        "look through", "look around", "look in", "go through", "scan",
    ),
    "prompt": ("search for", "look for", "hunt for", "grep"),
    "lookup": ("look up",),
    "list": ("list", "ls", "enumerate", "dir", "browse", "list out", "list all"),
    "question": (
        "what", "which", "what's", "whats", "how many", "is there", "are there", "do we have", "do you have",
        "does anything", "is anything", "anything", "any", "is", "are", "does", "do", "has", "have", "check",
    ),
    "prune": ("prune", "evict", "uncache", "un-cache", "expire", "invalidate", "flush"),
    "destroy": (
        "destroy", "purge", "wipe", "erase", "nuke", "obliterate", "permanently delete", "permanently remove",
        "permanently erase", "permanently destroy", "permanently drop", "permanently wipe",
    ),
    "ambiguous": (
        "delete", "remove", "drop", "rm", "del", "get rid of", "clear", "trash", "discard", "throw out",
        "throw away", "kick out", "take out", "blow away", "chuck out", "toss out", "clean out", "clean up",
        "knock out", "tear down",
    ),
}

#: Particles of a phrasal verb ("load up", "wipe out", "fetch back"): dropped right
#: after any verb when a name follows them, and after the object when a clause
#: follows ("bring a.md back from docs", "pull notes.txt up from docs"). "in" is
#: not one, as it starts a scope ("search in docs"): verbs taking it are listed
#: above ("bring in"), and a load drops an empty "in" ("read file::a in as docs").
PARTICLES: frozenset[str] = frozenset({"up", "out", "back", "over", "away", "down", "off", "through"})

#: Objects a verb may take before its particle ("fetch me back a.md").
PARTICLE_OBJECTS: frozenset[str] = frozenset({"me", "us"})
#: A command may start with what it wants shown: "contents of docs?", "the contents of docs".
IMPLIED_SHOW: frozenset[str] = frozenset({"contents", "content", "list", "listing"})

#: Said before the verb and ignored.
POLITE_OPENERS: tuple[str, ...] = (
    "please", "kindly", "pls", "plz", "hey", "hi", "hello", "ok", "okay", "so", "now", "then", "just", "also",
    "and", "agent", "can you", "could you", "would you", "will you", "can u", "could u", "you can",
    "i want to", "i wanna", "i'd like to", "id like to", "i would like to", "i need to", "i need you to",
    "i want you to", "let's", "lets", "let me", "go ahead and", "try to", "help me", "tell me", "quickly",
    "do you know", "i wonder", "i'd like to know", "i want to know", "can i", "could i", "may i", "can we",
    "would you mind", "do you mind", "how about",
    "could we", "may we", "shall we", "should we", "would it be possible to", "is it possible to", "i'd love to",
)
#: A clause before the request that only introduces its object ("I've got file::x.csv, load it
#: as docs"): the object replaces the first `PRONOUNS` word of the request after the comma.
CONTEXT_OPENERS: tuple[str, ...] = (
    "i've got", "ive got", "i have", "i got", "we have", "we've got", "weve got", "there's", "theres",
    "there is", "here's", "heres", "here is",
)
PRONOUNS: frozenset[str] = frozenset({"it", "them", "this", "that", "these", "those"})
#: After a comma, words that only restate where the object is ("show me a.md, it's in docs"):
#: dropped, so what follows them reads as the object's scope.
AFTERTHOUGHTS: tuple[str, ...] = (
    "it's", "its", "it is", "they're", "they are", "that's", "which is", "which are", "it lives", "it sits",
    "it should be", "should be",
)
#: Said after everything else and ignored.
POLITE_CLOSERS: tuple[str, ...] = ("please", "pls", "thanks", "thank you", "thx", "for me", "now", "right now", "asap")

#: A request with no verb that names what it lists ("top 3 blobs in docs about x", "files in
#: metrics", "everything in the cache for docs") starts with one of these, maybe after an article,
#: a number or `NOUN_REQUEST_LEADS`, or with a name and a plural noun ("the docs blobs"): it is
#: read as the listing it describes, a search when it has a prompt or a limit. ("docs" is not
#: one: it is as likely a tag.) "the cached copy of a.csv" names one entry and stays refused.
NOUN_REQUESTS: frozenset[str] = frozenset({
    "blobs", "files", "documents", "items", "entries", "objects", "everything", "hits", "results", "matches",
    "records",
})
NOUN_REQUEST_LEADS: frozenset[str] = frozenset({
    "top", "best", "first", "all", "every", "any", "cached", "stored", "persisted", "most", "relevant", "recent",
    "latest", "of", "the", "a", "an", "matching", "closest",
})
#: Plural nouns that make "<name> <noun>" a noun request ("sim_run1 files in the cache").
PLURAL_BLOB_NOUNS: frozenset[str] = frozenset({"blobs", "files", "documents", "items", "entries", "objects"})

# -- purpose clauses -------------------------------------------------------------
#: "free up cache space by dropping x from y", "to save memory, evict x", "evict x to make room":
#: a purpose (one of these verbs with a `PURPOSE_NOUNS` word) wraps the real request, which
#: follows "by" + a verb's -ing form, or a comma or colon, or comes first before "to ...".
PURPOSE_VERBS: tuple[str, ...] = (
    "free", "free up", "make", "clear", "clear up", "reclaim", "save", "recover", "release", "get back", "gain",
)
#: Words that may lead a purpose ("to free up space", "evict x so we can free up memory").
PURPOSE_CONNECTORS: tuple[str, ...] = (
    "to", "in order to", "so as to", "so we can", "so that we can", "so i can", "so that i can", "and",
)
#: What a purpose is after: room.
PURPOSE_NOUNS: frozenset[str] = frozenset({"space", "room", "memory", "ram", "capacity", "headroom"})
#: Words in a purpose that name the cache, so the request is about the cache ("free up memory").
PURPOSE_CACHE: frozenset[str] = frozenset({"cache", "memcached", "memory", "ram", "caches"})
#: Words that start the request after a purpose ("by dropping x"), a gerund following.
PURPOSE_LINKS: tuple[str, ...] = ("by", "through", "via")

# -- clause intros --------------------------------------------------------------
#: Words that start the search text of a query.
PROMPT_INTROS: tuple[str, ...] = (
    "about", "regarding", "concerning", "related to", "relating to", "relevant to", "pertaining to",
    "to do with", "dealing with", "mentioning", "mention", "mentions", "that mention", "that mentions",
    "which mention", "which mentions", "that talk about", "talking about", "discussing", "discuss",
    "discusses", "that discuss", "that discusses", "containing", "that contain", "that contains",
    "with text", "with the text", "with the words", "with words", "on the topic of", "on the subject of",
    "similar to", "matching", "that match", "that matches", "by relevance to", "ranked by relevance to",
    "most relevant to", "by similarity to",
)
#: Words that start the search text after a search verb ("search docs for tides", "find files on
#: gpus") but a tag scope in a listing ("list blobs for docs", "what's on docs").
SEARCH_PROMPT_INTROS: tuple[str, ...] = ("for", "on")
#: Words that start the tag scope of a listing ("in docs", "tagged sim_*").
SCOPE_INTROS: tuple[str, ...] = (
    "in", "under", "within", "inside", "across", "among", "tagged", "with tag", "with tags", "of", "from",
    "out of", "on tag", "for tag", "for tags",
)
#: Words that start the tag of a blob ("get a.md from docs", "prune a.md in docs").
BLOB_SCOPE_INTROS: tuple[str, ...] = ("from", "in", "of", "under", "within", "inside", "out of", "on")
#: Words that start the destination of a load ("into docs", "as sim_run1").
#: Naming phrases count too ("and call it docs", "under the name docs"); "save it as" needs
#: none, as "as" starts the clause and the words before it are dropped.
DEST_INTROS: tuple[str, ...] = (
    "into", "as", "to", "under", "in", "inside", "tagged", "with tag", "tag it", "tag it as", "call it",
    "calling it", "name it", "naming it", "label it", "labeling it", "labelling it", "title it", "give it",
    "under the name", "with the name", "by the name", "with the label", "under the label", "mark it",
)
#: Field labels that name the destination when a colon follows ("tag: docs", "destination: docs").
DEST_LABELS: frozenset[str] = frozenset({"tag", "dst", "dest", "destination", "target", "name"})
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

# -- entry noun phrases ---------------------------------------------------------
#: Nouns for the cache's record of a blob: "the cached copy of a.csv", "the entry
#: for x", "x's cache entry". Followed by "of"/"for", or after a possessive, they
#: are dropped and the name is kept. ("blobs of docs" is not one: docs is the tag.)
ENTRY_NOUNS: frozenset[str] = frozenset({"copy", "entry", "version"})
#: Their plurals, read where several names may follow ("prune the cached copies of a.md and b.md").
ENTRY_NOUNS_PLURAL: frozenset[str] = frozenset({"copies", "entries", "versions"})
#: The words between an entry noun and its blob ("the copy of a.csv", "the entry for x").
ENTRY_LINKS: frozenset[str] = frozenset({"of", "for"})
#: Words that may qualify an entry noun ("the stored copy of a.csv"), besides cache words.
ENTRY_ADJECTIVES: frozenset[str] = frozenset({"stored", "saved", "kept", "held", "current", "latest", "persisted"})
#: Links that tie a cache word to its tag inside a scope ("from the cache for docs").
CACHE_LINKS: frozenset[str] = frozenset({"for", "of"})
#: Words after a name that only say where it is ("a.csv stored in docs", "the copy
#: that lives in docs"): dropped when a scope follows them.
LOCATED_WORDS: frozenset[str] = frozenset(
    {"stored", "kept", "held", "cached", "saved", "living", "sitting", "that", "which", "lives", "sits", "is",
     "are", "resides", "located", "found", "currently", "now", "still"}
)
#: Words between the store and a tag in a load ("into storage as docs"): a
#: destination naming only one of these is the store, not a tag, when another names the tag.
STORE_WORDS: frozenset[str] = frozenset({"storage", "store", "iowarp", "persistent", "disk"})
#: Words before a destination tag, dropped like articles ("into a new tag called docs", "give it the name docs").
DEST_ADJECTIVES: frozenset[str] = frozenset({"new", "fresh", "name", "label"})

# -- filler and tiers in a listing ------------------------------------------------
#: Words a listing ignores: time ("which docs blobs are cached right now?") and a second verb
#: that only asks for the result ("search sim_* and give me the best 3 hits").
LISTING_FILLER: tuple[str, ...] = (
    "right now", "at the moment", "at present", "as of now", "as of right now", "for now", "just now",
    "these days", "at this point", "currently", "presently", "so far", "by now", "and give me", "and show me",
    "and return", "and tell me", "and list", "and get me", "and fetch me", "then show me", "then give me",
    "and then show me", "and then give me", "and bring me",
)
#: Phrases naming a tier rather than a tag: the store (a listing of what is stored) or the cache
#: (a query). Scopes whose words are all `STORE_WORDS` or cache words name a tier too ("in iowarp").
TIER_PHRASES: dict[str, tuple[str, ...]] = {
    "store": ("on disk", "on the disk", "to disk", "persistently"),
    "cache": ("in memory", "in ram", "in the memory", "in cache", "in-memory", "from memory", "from ram"),
}
#: Words standing for the things sought before a prompt ("anything mentioning x", "files on y").
PROMPT_FILLER: frozenset[str] = frozenset({
    "anything", "something", "everything", "stuff", "things", "thing", "blobs", "blob", "files", "file", "items",
    "documents", "document", "entries", "ones", "any", "some", "all", "the", "a", "data", "material", "content",
})

# -- word classes ---------------------------------------------------------------
ARTICLES: frozenset[str] = frozenset({"the", "a", "an"})
CACHE_WORDS: frozenset[str] = frozenset({"cache", "cached", "caches", "memcached", "uncache"})
#: Words that make a scope mean every tag ("across all tags").
STAR_WORDS: frozenset[str] = frozenset({"all", "any", "every", "each", "everywhere"})
#: Words around a tag name that are not the name ("the docs tag", "tag named x").
TAG_FILLER: frozenset[str] = ARTICLES | frozenset(
    {"tag", "tags", "named", "called", "my", "our", "this", "blobs", "files", "contents", "only", "just",
     "are", "is", "currently", "now", "right", "stored", "held", "kept", "present", "available", "persistently",
     "there", "like", "sitting", "living", "lying", "saved", "persisted", "cached", "still", "that", "which"}
)
#: Words in a listing's head that are not a tag or search text ("what blobs are there").
HEAD_FILLER: frozenset[str] = ARTICLES | frozenset({
    "all", "of", "me", "us", "my", "our", "your", "blobs", "blob", "files", "file", "documents", "document", "items",
    "item", "entries", "entry", "objects", "object", "contents", "content", "data", "stuff", "things", "everything",
    "anything", "every", "any", "tags", "tag", "cached", "stored", "what", "whats", "what's", "which", "is", "are",
    "there", "do", "does", "we", "i", "you", "have", "has", "got", "hold", "holds", "held", "kept", "keep",
    "currently", "right", "now", "exist", "exists", "available", "only", "results", "result", "matches", "match",
    "hits", "hit", "some", "that", "those", "these", "list", "most", "relevant", "recent", "through", "names",
    "name", "present", "persistently", "persisted", "listed", "known", "so", "far", "contain", "contains", "live",
    "lives", "sit", "sits", "reside", "resides", "listing", "cache", "caches", "memcached", "inside", "in", "still",
    "saved", "keeping", "keeps", "storing", "stores", "holding", "having", "sitting", "living", "lying", "being",
    "been", "be", *STORE_WORDS,
})
#: A filler word of a listing's head that is a plausible tag on its own ("list results").
SOLO_TAG_OK: frozenset[str] = frozenset({"data", "results"})
#: Nouns a query's head uses for the things sought, never a search text on their own.
#: Of these, the ones that are as likely a tag: right after a limit they are the noun ("top 3 docs").
TAGLIKE_NOUNS: frozenset[str] = frozenset({"docs", "reports", "papers", "notes", "records"})
GENERIC_NOUNS: frozenset[str] = HEAD_FILLER | TAGLIKE_NOUNS
#: Words that turn a retrieve verb into a listing ("show me all blobs", "get everything").
LISTING_WORDS: frozenset[str] = frozenset(
    {"blobs", "files", "everything", "anything", "contents", "what", "what's", "whats", "documents", "items",
     "entries", "list", "tags", "cached", "all", "results", "matches", "listing"}
)
#: A question is about stored blobs only with one of these ("what time is it" is not).
QUESTION_SIGNAL: frozenset[str] = frozenset(
    {"blob", "blobs", "file", "files", "tags", "tag", "data", "cached", "stored", "documents", "items", "entries",
     "contents", "anything", "everything", "available", "many", "hold", "holds", "contain", "contains", "have",
     "has", "kept", "got"}
)
#: "what does notes.txt in docs say?" asks for a blob's contents: a question word, an auxiliary,
#: one file name and a verb of saying at the end.
CONTENT_QUESTIONS: frozenset[str] = frozenset({"what"})
QUESTION_AUX: frozenset[str] = frozenset({"does", "do", "did"})
CONTENT_VERBS: frozenset[str] = frozenset({"say", "says", "contain", "contains", "read", "hold", "have"})
#: Nouns naming a blob's contents: "the contents of notes.txt" is notes.txt.
CONTENT_NOUNS: frozenset[str] = frozenset({"contents", "content", "data", "bytes", "text", "body"})
RETRIEVE_FILLER: frozenset[str] = ARTICLES | frozenset(
    {"me", "us", "blob", "file", "document", "named", "called", "object", "entry", "item", "single"}
)
#: Question verbs asking yes or no ("is a.csv cached in docs?", "does docs have
#: a.csv?"): file names in them are what is asked about, never a tag or search
#: text; the answer is the tag's listing.
YES_NO_QUESTIONS: frozenset[str] = frozenset({"is", "are", "does", "do", "has", "have", "any", "anything", "check"})
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
EVERYTHING: frozenset[str] = frozenset({"all", "everything", "every", "any", "anything", "contents"})
BLOB_WORDS: frozenset[str] = frozenset({"blob", "blobs", "file", "files"})
#: Nouns before a load's source or destination ("the file file::a.csv").
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
