"""Opposite words, for the reversal checks of rag/reversal.py: no model, pure data and functions.

Two sources, both general English rather than words picked from the labelled rows:

- `GENERAL`: common antonym pairs of everyday and technical prose (direction, quantity, time,
  order, obligation, evaluation, access, state), written from general word knowledge;
- morphology (`prefixed_opposite`): a word and its negative-prefix form ("likely"/"unlikely",
  "valid"/"invalid", "agree"/"disagree", "sensitive"/"non-sensitive") or its -ful/-less pair
  ("useful"/"useless"), for bases that read as adjectives or verbs of state (so "form" /
  "inform" and "prove" / "improve" never count).
"""

from __future__ import annotations

import re
from functools import lru_cache

_PAIRS = """
above below | absent present | accept decline | accept refuse | accurate inaccurate
active passive | add subtract | advantage disadvantage | after before | agree refuse
allow deny | allow block | always sometimes | approve deny | arrive leave | ascending descending
asset liability | attack defend | automatic manual | available unavailable | begin end
beginning end | benefit harm | best worst | better worse | borrow lend | buy sell
calm anxious | cheap expensive | clean dirty | clear unclear | close open
cold hot | common rare | complete incomplete | complex simple | compress expand
connect disconnect | constant variable | correct wrong | create destroy | create delete
critical minor | critical trivial | dangerous safe | deep shallow | deliberate accidental
deliberate unintentional | intentional accidental | dense sparse | deny confirm
dependent independent | deposit withdraw | direct indirect | downstream upstream
download upload | dynamic static | early late | earlier later | east west | easy difficult
empty full | encrypt decrypt | end start | enter exit | entry exit | everyone nobody
everything nothing | exact approximate | expand shrink | expand contract | expensive inexpensive
explicit implicit | export import | external internal | fail pass | fail succeed
failure success | false true | fast slow | few many | fewer more | finish start
first last | fixed variable | forbid permit | forget remember | formal informal | forward backward
frequent infrequent | frequent rare | full partial | gain loss | gain lose
global local | good bad | grant revoke | grow shrink | guilty innocent 
harm help | hate love | help hinder | hide show | hide reveal | high low
hire fire | horizontal vertical | hot cold | hurt help | ignore heed
important unimportant | important trivial | improve worsen | improve degrade 
include omit | increase lower | inbound outbound | input output | inside outside
join leave | large small | last first | least most 
lengthen shorten | less more | limit expand | limited unlimited | long short | loose tight
lose win | loss profit | low high | major minor | majority minority | max min
maximum minimum | maximize minimize | more less | most least | narrow wide | necessary unnecessary
never always | new old | noisy quiet | north south | obey disobey | offline online
open shut | opponent ally | optimistic pessimistic | optional required
optional mandatory | optional compulsory | outdated current | overestimate underestimate
past future | patient impatient | peak trough | permanent temporary
permit prohibit | pessimistic optimistic | polite rude | poor rich | possible impossible
praise criticize | praise blame 
private public | pro con | proactive reactive | punish reward | pull push | push pull
quick slow | raise lower | rarely often | rarely frequently | receive send 
reduce increase | reduce raise | reject accept | relevant irrelevant | reliable unreliable
remote local | remote onsite | remove add | require waive | required optional
restrict expand | reveal conceal | reward penalize | rigid flexible | rise fall | safe risky
safe unsafe | same different | save delete | save discard 
secure vulnerable | seldom often | sell buy | send receive | separate combined | separate together
serial parallel | shallow deep | short long | shorten extend | show hide | shut open
simple complicated | single multiple | slow quick | small large | soft hard | sooner later
start stop | start end | start finish | static dynamic | stop continue
strengthen weaken | strict lenient | strict loose | strong weak | success failure
sufficient insufficient | support oppose | synchronous asynchronous | tall short
temporary permanent | thick thin | tight loose | top bottom | true false | trust distrust
trust mistrust | under over | upper lower | upward downward 
usual unusual | valid invalid | vertical horizontal | visible hidden | visible invisible
voluntary mandatory | voluntary required | voluntary compulsory | voluntary involuntary
wanted unwanted | weak strong | welcome unwelcome | wide narrow | win lose 
worse better | wrong right | young old | centralized decentralized
centralised decentralised | inclusive exclusive
lock unlock | reluctant eager | reluctant willing
proud ashamed | open closed | transparent opaque | transparent secretive
paid unpaid |  
"""

GENERAL: tuple[tuple[str, str], ...] = tuple(
    (a, b) for pair in re.split(r"[|\n]", _PAIRS) if len(found := pair.split()) == 2
    for a, b in [found])

NEGATIVE_PREFIXES = ("non-", "non", "un", "in", "im", "il", "ir", "dis")
# Endings of a base that reads as an adjective or a participle ("able", "al", "ive", ...): a
# negative prefix on such a base makes its opposite; on others it rarely does ("inform").
_ADJECTIVE_ENDINGS = ("able", "ible", "al", "ful", "ive", "ent", "ant", "ic", "ous", "id", "ect",
                      "ary", "ory", "ure", "ed", "ing", "ly", "ar", "ite", "ete", "ile", "ial")
# Bases without such an ending whose prefixed form is their opposite.
_BASES = frozenset("""safe fair known clear aware happy usual stable secure honest like agree
    approve connect continue allow enable able even equal common wise kind certain healthy lock
    trust obey satisfy satisfied qualify mount load install wanted welcome fit sure true
    limited paid""".split())
# Bases whose prefixed form happens to share their letters but not an opposite sense.
_NOT_BASES = frozenset("tent rate deed sent vent tend dent tale mate ward".split())


@lru_cache(maxsize=1 << 14)
def negative_base(word: str) -> str:
    """The base of a negative-prefix or -less word ("unlikely" -> "likely", "useless" ->
    "useful"), or "" when the word is not one."""
    if word.endswith("less") and len(word) >= 7:
        return word[:-4] + "ful"
    for prefix in NEGATIVE_PREFIXES:
        base = word[len(prefix):]
        if word.startswith(prefix) and len(base) >= 4 and base not in _NOT_BASES and (
                base in _BASES or base.endswith(_ADJECTIVE_ENDINGS)):
            return base
    return ""


def prefixed_opposites(mine: frozenset[str], theirs: frozenset[str]) -> list[tuple[str, str]]:
    """(word of `mine`, word of `theirs`) pairs where one is the other's negative form
    ("unlikely" / "likely") and the side using the base lacks the negative form.
    `mine` / `theirs`: lower-cased word tokens."""
    found = [(word, base) for word, base in _negatives(mine)  # the claim's negative form
             if word not in theirs and base in theirs and base not in mine]
    found += [(base, word) for word, base in _negatives(theirs)  # the source's
              if word not in mine and base in mine and base not in theirs]
    return found


@lru_cache(maxsize=8192)
def _negatives(found: frozenset[str]) -> tuple[tuple[str, str], ...]:
    """(word, its base) for the words of a text that are negative forms (a text's words meet
    every sentence they are compared with)."""
    return tuple((word, base) for word in found if (base := negative_base(word)))
