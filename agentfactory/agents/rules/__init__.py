"""Offline, deterministic rule parser: a plain-language command becomes an `Action`.

It is the default backend because it needs no network and always gives the
same answer, so experiments replay exactly and the LLM backends have a
baseline to beat. It parses by structure rather than by the first keyword it
meets: the verb comes first (after polite openers such as "please" or "can
you"), a source is a single `scheme::rest` token, and names are read only from
the slot their clause gives them, so "load x from folder::/d into s" cannot
take "folder" for a tag.

Where things live:

* `lexicon` — every keyword, as plain Python data (tuples and sets of
  strings): verbs by family, particles, polite openers, clause intros, scope,
  cache and permanence words, filler. A synonym or a phrasing is one string
  added there; no code spells a keyword. A Python module rather than YAML so
  the words are checked at import, need no file lookup, and cost nothing.
* `tokens` — the tokenizer (words, quoted names, source URIs, separators).
* `phrases` — lookup tables built from the lexicon and the clause splitter.
* `names`, `limits` — reading tags, blob lists and result limits out of clauses.
* `entries` — noun phrases naming a cache entry ("the cached copy of a.csv").
* `context`, `purpose` — clauses around the request ("I've got file::x, load it
  as docs", "free up memory by evicting a.md from docs") cut away.
* `slots` — one slot filler per verb family (assimilate, listing, retrieve, remove).
* `refuse` — the one helper every refusal goes through, and the did-you-mean.

Rules a user can rely on (each one keeps a wrong guess from being made):

* Deleting: "delete", "remove", "drop", "rm", "clear" do not say whether the
  user means the cache or the data. With a cache word ("from the docs cache",
  "uncache") they prune; with the word "tag(s)" or a permanence word
  ("permanently", "for good", "from iowarp") they destroy; a bare
  "delete old_runs" is refused with the suggestion "destroy old_runs" and a
  pointer to prune. "Delete a.md from docs" is refused too: no action deletes
  one blob for good, and quietly pruning would leave the user believing it is
  gone. Explicit verbs ("destroy", "purge", "wipe", "erase") destroy, but a
  cache word still turns them into the harmless prune.
* Destroy and prune take names, not guesses: globs, "all"/"everything", "or",
  and names standing side by side without a comma or "and" are refused, since
  "destroy old experiments" could be one tag with a space or two tags.
* A sentence-final "?", "!" or "." is punctuation, never part of a name or
  glob; quote a name that really ends in one ('run_?').
* Quotes ('..', "..", `..`) keep a name or a prompt whole and out of keyword
  matching: 'my file.txt', about "life in the sea".
* A prompt ("about ...", "related to ...", "mentioning ...") runs until a
  scope such as "in docs" or "tagged sim_*" whose tail is a single tag name;
  quote the prompt to keep such words in it.
* Keywords match in any case; names and paths keep theirs.
* Phrasal verbs read as their verb: a particle ("wipe out", "fetch back",
  "pull notes.txt up from docs") is dropped, never read as a name, and never
  loosens a deletion rule ("clear out scratch" is refused like "clear
  scratch"). A leading "permanently" counts as if it came last.
* A blob may be named by its entry: "the cached copy of a.csv", "the entry
  for x", "x's cache entry", "a.csv stored in docs" all name the blob.
* Cache or store: search verbs and any mention of the cache ("cached", "in
  the cache") ask what is cached now (query); list verbs and questions
  ("what's in docs?", "what does run42 hold?") ask what is stored (list_blobs).
  In a yes/no question ("is a.csv cached in docs?") file names are what is
  asked about; the answer is the tag's listing.
* A tier is not a tag: "in iowarp", "in the store", "on disk" list what is
  stored (every tag unless one is named); "in the cache", "in memory" query it.
* Without a verb, a request naming blobs ("files in metrics", "top 3 blobs in
  docs about x") is the listing it names, a search when it ranks or has a topic.
* A purpose ("free up cache space by dropping x from y") is cut away, keeping
  one fact: whether it names the cache. "Free up space by deleting x" names
  no tier and is refused like "delete x".
"""

from __future__ import annotations

from .parser import parse_command

__all__ = ["parse_command"]
