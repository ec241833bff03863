"""Which list answers a how / list question: the asked kind of list, whole, and no other's.

Each case is real text through the real MiniLM scoring; each fails when its rule is undone
(rag/answerers/shape.py: `_list_anchor`, `_dominant`, `_second_list`).
"""

from __future__ import annotations

from answers_common import passage


def lines_of(answer: str) -> list[str]:
    return answer.splitlines()


STEPS = ("- **Identify key scenarios to measure** - gather the load test scenarios from the "
         "product owner.\n"
         "- **Determine expected normal and peak load** - find the size of the load test you "
         "will run.\n"
         "- **Identify success criteria metrics** - response time and error rate of the load "
         "test.\n"
         "- **Agree on test matrix** - which load test cases run for which input parameters.\n"
         "- **Select the right tool** - many frameworks exist for load testing.\n")


def test_a_list_question_is_answered_by_the_list_not_by_a_better_sentence(trust) -> None:  # noqa: ANN001
    # The "why it matters" sentence repeats the question's words best; the planning steps are
    # what the question asks for.
    from rag.answerers.extractive import extractive_answer

    passages = [
        passage("A load test is a critical step to understand whether a target system will be "
                "reliable under the expected real world traffic.", "load", "Conclusion"),
        passage(STEPS, "load", "Planning", 1),
    ]
    answer = extractive_answer("What are the steps for planning a load test?", passages,
                               trust).answer
    for step in ("key scenarios", "normal and peak load", "success criteria", "test matrix",
                 "right tool"):
        assert step in answer, answer
    bullets = [line for line in lines_of(answer) if line.startswith("- ")]
    assert len(bullets) == 5 and all(line.endswith("[2]") for line in bullets), answer


AVAILABILITY = (
    "Implementing availability involves various strategies and technologies designed to keep a "
    "system operational. Here are some examples:\n\n"
    "- Redundant Systems: deploying duplicate hardware that takes over when the primary fails.\n"
    "- Load Balancing: distributing incoming traffic across multiple servers.\n"
    "- Data Replication: continuously copying data across multiple locations.\n"
    "- Geographic Distribution: placing copies of services in dispersed data centers.\n"
    "- High Availability Software Architectures: designing software for high availability "
    "with isolated services.\n"
)


def test_an_item_repeating_the_question_does_not_hide_the_list_its_lead_in_announces(trust) -> None:  # noqa: ANN001,E501
    from rag.answerers.extractive import extractive_answer

    answer = extractive_answer("How can a system be designed for high availability?",
                               [passage(AVAILABILITY, "availability", "Implementations")],
                               trust).answer
    for item in ("Redundant Systems", "Load Balancing", "Data Replication",
                 "Geographic Distribution", "High Availability Software"):
        assert item in answer, answer


def test_a_single_item_question_still_gets_its_item_alone(trust) -> None:  # noqa: ANN001
    # No lead-in matches this question: the item it names is the answer, not the whole list.
    from rag.answerers.extractive import extractive_answer

    text = ("Some tactics I've used:\n\n"
            "- Assume positive intent in every conversation.\n"
            "- Ask for an overview of how the system works.\n"
            "- Commiserate with the team about the pager, but be careful not to be sucked into "
            "the negativity.\n")
    answer = extractive_answer("Should I commiserate with the team about the pager?",
                               [passage(text, "trust", "Tactics")], trust).answer
    assert "Commiserate" in answer and "positive intent" not in answer, answer


def test_a_one_intent_question_takes_no_second_list_from_another_article(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    portability = ("- Platform Independence: running on different operating systems without "
                   "major changes.\n"
                   "- Environment Abstraction: abstraction layers that isolate the software "
                   "from the platform.\n"
                   "- Configuration Flexibility: settings changed per environment without "
                   "code changes.\n")
    deploying = ("Deploying software involves the following principles:\n\n"
                 "- Provision and manage the cloud environment runtime.\n"
                 "- Install the target application version across environments.\n")
    passages = [passage(portability, "portability", "Characteristics"),
                passage(deploying, "delivery", "Continuous Delivery")]
    answer = extractive_answer("How can software be made portable across environments?",
                               passages, trust).answer
    assert "Platform Independence" in answer and "Configuration Flexibility" in answer, answer
    assert "Provision and manage" not in answer, answer


def test_a_one_intent_question_takes_the_checklist_of_the_same_article(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    tools = ("Some tools we use:\n\n"
             "- OpenSSF Scorecards checks the security posture of open source dependencies.\n"
             "- OWASP Dependency-Check checks open source dependencies for known "
             "vulnerabilities.\n")
    checks = ("When evaluating open source software, consider the following:\n\n"
              "- Can you avoid adding it as a dependency?\n"
              "- Is it maintained?\n"
              "- Does the license allow you to use it in your project?\n")
    passages = [passage(tools, "oss", "Tools", 1), passage(checks, "oss", "Evaluate", 0)]
    answer = extractive_answer("What should we check before adding an open source dependency?",
                               passages, trust).answer
    assert "OWASP" in answer and "Is it maintained?" in answer, answer  # both lists, whole


def test_a_sentence_announcing_a_list_brings_the_list_when_it_scores_with_the_best(trust) -> None:  # noqa: ANN001,E501
    # An item of another article repeats the question's words best; the paperwork itself is
    # the list the (intent-less) question's runner-up sentence announces.
    from rag.answerers.extractive import extractive_answer

    paperwork = ("To get approval for advanced sick leave, you will need to submit the following "
                 "paperwork to your supervisors and your [OHRM Workforce Relations HR Specialist]"
                 "(https://docs.google.com/document/d/15glvq9UakKUN8XTRTa6gRkhB/edit).\n\n"
                 "1. An advanced sick leave request form.\n"
                 "2. An original medical certification signed by your physician.\n"
                 "3. A copy of your timesheet report for the current and previous year.\n"
                 "4. A written explanation of the circumstances.\n")
    hr_links = ("Prior to entering the hours in HR Links, please ensure that you:\n\n"
                "- Know the number of hours you can request.\n"
                "- Have completed the approval paperwork for advanced sick leave.\n")
    passages = [passage(hr_links, "hrlinks", "Requesting advanced leave"),
                passage(paperwork, "advanced-sick-leave", "Getting approval")]
    question = ("I've used up all my sick leave after surgery and need more time. What paperwork "
                "do I send to get advanced sick leave?")
    answer = extractive_answer(question, passages, trust).answer
    items = ("request form", "medical certification", "timesheet report", "written explanation")
    positions = [answer.find(i) for i in items]
    assert -1 not in positions and positions == sorted(positions), answer


def test_an_item_answered_alone_shows_each_of_its_nested_items(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    text = ("- **Disaster Recovery as a Service**: use providers that offer recovery solutions.\n"
            "- **Failover and Redundancy**:\n"
            "  - **Hot Site**: a fully operational, geographically separate duplicate of the "
            "primary site.\n"
            "  - **Cold Site**: an alternate site with infrastructure but without active "
            "systems or data.\n"
            "  - **Warm Site**: a compromise between hot and cold sites, with partially "
            "prepared systems.\n"
            "- **Regular Testing and Drills**: conduct simulation drills of the recovery plan.\n")
    answer = extractive_answer("What is the difference between hot, warm and cold standby sites?",
                               [passage(text, "disaster-recovery", "Implementations")],
                               trust).answer
    for site in ("Hot Site", "Cold Site", "Warm Site"):
        assert f"- **{site}**" in answer, answer
    assert "simulation drills" not in answer, answer


def test_a_lead_in_naming_what_its_list_holds_brings_the_list(trust) -> None:  # noqa: ANN001
    # "…some general principles that might be helpful." announces the list without a colon.
    from rag.answerers.extractive import extractive_answer

    text = ("Generally the deliverable from a technical spike should be a document detailing "
            "what was evaluated and the outcome. The specifics will vary, but there are some "
            "general principles that might be helpful.\n\n"
            "- **Problem Statement:** include a section that details why the evaluation is done."
            "\n- **Repeatable:** detail the components used to build the environment.\n"
            "- **Evidence:** put the detailed results in an appendix.\n")
    answer = extractive_answer("What should the deliverable of a technical spike contain?",
                               [passage(text, "technical-spike", "Deliverable")], trust).answer
    for item in ("Problem Statement", "Repeatable", "Evidence"):
        assert item in answer, answer


def test_a_pointer_to_another_page_never_anchors_the_answer(trust) -> None:  # noqa: ANN001
    # "This page outlines how to sign up…" repeats the question best and says nothing.
    from rag.answerers.extractive import extractive_answer

    steps = ("- Register for the benefit on the transit application site.\n"
             "- Log in to the transit site with your government email.\n"
             "- Fill out the transit benefit application.\n"
             "- Select your supervisor as the approver of your transit benefit.\n")
    passages = [passage("This page outlines how to sign up for the transit benefit.", "transit",
                        "Transit Benefit"),
                passage(steps, "transit", "Enrolling", 1)]
    answer = extractive_answer("How do I sign up for the transit benefit?", passages,
                               trust).answer
    for step in ("Register", "Log in", "benefit application", "approver"):
        assert step in answer, answer
    assert "This page outlines" not in answer, answer



FIRST_DAY = (  # 18f-handbook (public domain), general-information-and-resources/distributed.md
    "TTS employees receive either a MacBook or PC and either an iPhone or Android from GSA, "
    "though you may not\nreceive your work phone on your first day.\n\nOn your first day at "
    "work you should configure things so that your two-factor\nauthentication (2FA) codes are "
    "delivered to your cell phone. If you don't\nreceive your work cell phone on day one, "
    "you'll need to use your personal phone.\n**If you do not configure 2FA you will not be "
    "able to access your email from\noutside of federal buildings.**\n\nSee the Equipment "
    "page for\nmore about how to set up 2FA so you can receive GSA 2FA codes on your cell\n"
    "phone.")
ASK_QUESTIONS = (  # .../new-supervisor-playbook/play-4.md
    "In order to support yourself in getting up to speed, understanding your new\nrole, what "
    "is expected of you, and the current state of things, **ask lots of\n(thoughtful) "
    "questions**. Do not be afraid to do this; it is expected that you\ndo not know most "
    "things at the start, and most likely, someone else has the same\nquestion. You are new: "
    "take advantage of your first weeks to learn as much as\npossible and understand "
    "assumptions that may currently exist!")
TERM_STEPS = (  # .../hiring-staying-or-changing-jobs/term-extensions.md
    "7. After the end of your first term, TTS PeopleOps checks to make sure that the\n"
    "   extension has been processed. You should **also** check your HR Links account\n"
    "   to confirm that your NTE date is accurate.\n\n"
    "   - Your new term will begin the day **after** your previous term end date,\n"
    "     excluding weekends. If your term ended on a weekend, the new term will\n"
    "     begin the following Monday.\n"
    "   - Your updated NTE (Not To Exceed date) will show up in your HR Links account\n"
    "     the day **after** your current term ends, along with your updated SF50\n"
    "     under the \u201cPersonnel Actions (SF-50s)\u201d tab.\n\n"
    "   **If your NTE date was not updated on the first day of your new term, email\n"
    "   TTS PeopleOps immediately.**")


def test_a_steps_list_of_an_unrelated_passage_does_not_take_over_a_how_question(trust) -> None:  # noqa: ANN001,E501
    # As retrieved for "What should I do on my first day?" (cosines as measured): the
    # term-extension steps repeat "first day", but their page is about something else (0.07
    # against the best passage's 0.43), so they do not answer it (shape.LIST_PASSAGE_SHARE).
    from rag.answerers.extractive import extractive_answer

    passages = [passage(FIRST_DAY, "distributed", "Set up my computer?", score=0.10),
                passage(ASK_QUESTIONS, "play-4", "Ask questions", score=0.43),
                passage(TERM_STEPS, "term-extensions", "What's the process?", score=0.07)]
    answer = extractive_answer("What should I do on my first day?", passages, trust).answer
    assert "two-factor" in answer, answer
    assert "Your new term will begin" not in answer, answer


# 18F's security-incidents page: a "Please note" paragraph sits between the sentence that
# announces the steps and the steps (rag/answerers/announce.py).
INCIDENT = (
    "To report a security incident, follow _all_ of the steps below:\n\n"
    "Please note that incidents need to be reported within one hour of being identified. "
    "This isn't \"within an hour of happening\" but \"within one hour of you becoming aware of "
    "the incident.\"\n\n"
    "1. Send an email to itservicedesk@gsa.gov, gsa-ir@gsa.gov, and devops@gsa.gov within 1 "
    "hour of identifying an incident.\n"
    "   - Include as many details as possible, including relevant URLs.\n"
    "1. Check the system's specific Incident Response Plan\n"
    "1. Following notification to GSA, the GSA's Incident Response (IR) team will contact you "
    "requesting more information.\n"
)


def test_a_sentence_announcing_steps_is_quoted_with_its_steps(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    answer = extractive_answer("How do I report a security incident?",
                               [passage(INCIDENT, "incidents", "Reporting other incidents")],
                               trust).answer
    lines = lines_of(answer)
    lead = next(i for i, line in enumerate(lines) if "steps below:" in line)
    assert lines[lead + 1].startswith("- Send an email"), answer
    assert "- Check the system's specific Incident Response Plan" in answer, answer
    assert "Include as many details" not in answer  # a sub-item, not a step


def test_an_announcement_whose_list_is_not_in_the_passage_is_dropped(trust) -> None:  # noqa: ANN001
    from rag.answerers.extractive import extractive_answer

    text = ("If you're the last to leave your side of the office, take care of these things on "
            "your side:\n\nThe office closes at 6 pm on weekdays. Guests must sign in at the "
            "front desk before they enter.")
    answer = extractive_answer("What should I do if I'm the last to leave the office?",
                               [passage(text, "office", "Closing up")], trust).answer
    assert "these things on your side:" not in answer and "6 pm" in answer, answer
