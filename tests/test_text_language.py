"""The language of a transcript whose recogniser named none (Parakeet v3, Granite Speech under --language auto),
found from its words against the rules cleanup's lexicons: each lexicon language named on a paragraph of its own,
ten languages without a lexicon never named, short text not guessed at, the model's own list respected, and the
answer recorded (`language_source`) where a run's recognition puts it, so the rules cleanup then runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transcriber.text_language import identify, record_language
from transcriber.transcript import Segment, Transcript

#: One paragraph, as a transcript reads, in each language with a lexicon ...
OWN = {
    "en": "So we looked at the budget on Monday and it was fine, but the team wants to move the launch to the second "
    "week because the supplier is late. I think that is a good idea. We had two meetings about it and then we agreed "
    "on a new plan with three steps.",
    "de": "Also wir haben das Budget am Montag geprüft und es passt, aber das Team möchte den Start in die zweite "
    "Woche verschieben, denn der Lieferant ist spät dran. Ich finde, dass das eine gute Idee ist. Wir hatten zwei "
    "Treffen dazu und dann haben wir einen neuen Plan mit drei Schritten beschlossen.",
    "fr": "Alors nous avons vérifié le budget lundi et tout va bien, mais l'équipe veut déplacer le lancement à la "
    "deuxième semaine parce que le fournisseur est en retard. Je pense que c'est une bonne idée. Nous avons eu deux "
    "réunions et puis nous avons choisi un nouveau plan en trois étapes.",
    "es": "Bueno, revisamos el presupuesto el lunes y todo está bien, pero el equipo quiere mover el lanzamiento a la "
    "segunda semana porque el proveedor llega tarde. Creo que es una buena idea. Tuvimos dos reuniones y entonces "
    "acordamos un plan nuevo con tres pasos.",
    "it": "Allora abbiamo controllato il bilancio lunedì e va tutto bene, ma la squadra vuole spostare il lancio alla "
    "seconda settimana perché il fornitore è in ritardo. Penso che sia una buona idea. Abbiamo fatto due riunioni e "
    "quindi abbiamo deciso un nuovo piano in tre passi.",
    "pt": "Então nós verificamos o orçamento na segunda e está tudo certo, mas a equipe quer mudar o lançamento para a "
    "segunda semana porque o fornecedor está atrasado. Acho que é uma boa ideia. Tivemos duas reuniões e então "
    "combinamos um plano novo com três passos.",
    "nl": "Dus we hebben het budget op maandag gecontroleerd en het klopt, maar het team wil de lancering naar de "
    "tweede week verschuiven want de leverancier is laat. Ik denk dat dat een goed idee is. We hadden twee "
    "vergaderingen en toen hebben we een nieuw plan met drie stappen gemaakt.",
}
#: ... and the same paragraph in languages Parakeet v3 writes that have none: they must stay unknown.
OTHERS = {
    "pl": "Więc sprawdziliśmy budżet w poniedziałek i wszystko jest w porządku, ale zespół chce przesunąć start na "
    "drugi tydzień, bo dostawca się spóźnia. Myślę, że to dobry pomysł. Mieliśmy dwa spotkania i potem uzgodniliśmy "
    "nowy plan w trzech krokach.",
    "cs": "Takže jsme v pondělí zkontrolovali rozpočet a všechno je v pořádku, ale tým chce posunout spuštění na druhý "
    "týden, protože dodavatel má zpoždění. Myslím, že je to dobrý nápad. Měli jsme dvě schůzky a pak jsme se dohodli "
    "na novém plánu ve třech krocích.",
    "ro": "Deci am verificat bugetul luni și totul este în regulă, dar echipa vrea să mute lansarea în a doua "
    "săptămână pentru că furnizorul întârzie. Cred că e o idee bună. Am avut două întâlniri și apoi am stabilit un "
    "plan nou în trei pași.",
    "sv": "Så vi gick igenom budgeten på måndag och allt ser bra ut, men teamet vill flytta lanseringen till andra "
    "veckan eftersom leverantören är sen. Jag tycker att det är en bra idé. Vi hade två möten och sedan kom vi "
    "överens om en ny plan i tre steg.",
    "da": "Så vi gennemgik budgettet mandag og alt er fint, men holdet vil flytte lanceringen til anden uge fordi "
    "leverandøren er forsinket. Jeg synes det er en god idé. Vi havde to møder og så blev vi enige om en ny plan med "
    "tre trin.",
    "hr": "Dakle, pregledali smo proračun u ponedjeljak i sve je u redu, ali tim želi pomaknuti početak na drugi "
    "tjedan jer dobavljač kasni. Mislim da je to dobra ideja. Imali smo dva sastanka i onda smo se dogovorili o novom "
    "planu u tri koraka.",
    "fi": "Eli tarkistimme budjetin maanantaina ja kaikki on kunnossa, mutta tiimi haluaa siirtää julkaisun toiselle "
    "viikolle, koska toimittaja on myöhässä. Minusta se on hyvä idea. Meillä oli kaksi kokousta ja sitten sovimme "
    "uudesta suunnitelmasta kolmessa vaiheessa.",
    "hu": "Tehát hétfőn átnéztük a költségvetést és minden rendben van, de a csapat a második hétre akarja tenni az "
    "indulást, mert a beszállító késik. Szerintem ez jó ötlet. Két megbeszélésünk volt, és aztán megegyeztünk egy új "
    "tervben három lépésben.",
    "sk": "Takže sme v pondelok skontrolovali rozpočet a všetko je v poriadku, ale tím chce posunúť spustenie na druhý "
    "týždeň, pretože dodávateľ mešká. Myslím si, že je to dobrý nápad. Mali sme dve stretnutia a potom sme sa "
    "dohodli na novom pláne v troch krokoch.",
    "sl": "Torej smo v ponedeljek pregledali proračun in vse je v redu, ampak ekipa želi prestaviti začetek na drugi "
    "teden, ker dobavitelj zamuja. Mislim, da je to dobra ideja. Imeli smo dva sestanka in potem smo se dogovorili "
    "za nov načrt v treh korakih.",
}
LANGUAGES = Path(__file__).resolve().parent / "fixtures" / "languages"


@pytest.mark.parametrize("code", sorted(OWN))
def test_each_lexicon_language_is_named(code: str) -> None:
    guess = identify(OWN[code])
    assert guess is not None and guess.language == code
    assert guess.share >= 0.8 and guess.hits >= 4


@pytest.mark.parametrize("code", sorted(OTHERS))
def test_a_language_without_a_lexicon_is_never_named(code: str) -> None:
    assert identify(OTHERS[code]) is None


def test_a_single_sentence_is_named_right_or_not_at_all() -> None:
    """One sentence (the espeak fixtures' scripts, with and without hesitations) mostly holds too few of a lexicon's
    words to name its language; where it holds enough, the name is the right one."""
    named = []
    for path in sorted(LANGUAGES.glob("*.txt")):
        guess = identify(path.read_text(encoding="utf-8"))
        assert guess is None or guess.language == path.name.split(".")[0], path.name
        named += [path.name] if guess else []
    assert named  # some sentence holds enough of its language's own words (Spanish "este", "el", "el", "y")


def test_only_the_models_languages_are_candidates() -> None:
    """Granite Speech does not write Dutch, so a Dutch-looking transcript from it is not called Dutch (nor English,
    on the two English-looking words left)."""
    assert identify(OWN["nl"], ["de", "en", "es", "fr", "ja", "pt"]) is None
    german = identify(OWN["de"], ["de", "en", "es", "fr", "ja", "pt"])
    assert german is not None and german.language == "de"


def _transcript(text: str, language: str = "") -> Transcript:
    return Transcript("talk.wav", 30.0, language, "parakeet-tdt-0.6b-v3", "transformers:parakeet",
                      [Segment(0, 0.0, 30.0, text)])  # fmt: skip


def test_how_the_language_was_found_is_recorded() -> None:
    given = _transcript(OWN["de"], "de")
    record_language(given, "de")
    named = _transcript(OWN["en"], "en")
    record_language(named, "auto")
    found = _transcript(OWN["de"])
    record_language(found, "auto", ["de", "en", "fr"])
    unknown = _transcript(OTHERS["pl"])
    record_language(unknown, "auto")
    assert (given.language, given.language_source) == ("de", "given")
    assert (named.language, named.language_source) == ("en", "model")
    german = identify(OWN["de"])
    assert german is not None and german.share > 0.9
    assert (found.language, found.language_source, found.language_probability) == ("de", "text", german.share)
    assert (unknown.language, unknown.language_source) == ("", "")
    assert Transcript.from_json(found.to_json()).language_source == "text"


def test_a_run_fills_the_language_so_the_rules_clean_it(tmp_path: Path) -> None:
    """Where a run recognises (`ModelSlots.recognise_one`, local and Ray alike): a Parakeet v3 transcript under
    --language auto, kept from before this existed with no language, gets German from its words, and the rules
    cleanup then takes out its German hesitations; with the language unknown it left them."""
    from transcriber.cleanup import apply_cleanup
    from transcriber.plan import Recognition
    from transcriber.settings import load_settings
    from transcriber.slots import ModelSlots

    settings = load_settings({"input": str(tmp_path), "output": str(tmp_path / "out"), "language": "auto",
                              "model": "parakeet-tdt-0.6b-v3", "cleanup": "rules"}, environ={})  # fmt: skip
    recognition = Recognition("pipeline", "transformers", "parakeet-tdt-0.6b-v3", None, "", "cpu", "float32", 1)
    slots = ModelSlots(settings, recognition)
    spoken = "Äh, " + OWN["de"].replace("Idee ist.", "Idee ist, ähm, wirklich.")
    before = _transcript(spoken)
    apply_cleanup(before, "rules")
    assert "Äh" in before.clean_text and "ähm" in before.clean_text, "an unknown language is left as recognised"
    cached = _transcript(spoken)
    silence = np.zeros(0, dtype=np.float32)  # a cached transcript is not recognised again
    transcript = slots.recognise_one(silence, "talk.wav", cached, [], lambda step: None, lambda kind, t: None)
    assert (transcript.language, transcript.language_source) == ("de", "text")
    apply_cleanup(transcript, "rules")
    assert transcript.clean_text.startswith("Also wir haben") and "ähm" not in transcript.clean_text
    assert [(edit.text, edit.reason) for edit in transcript.edits] == [("Äh,", "filler"), ("ähm,", "filler")]


#: Written after the lexicons' function words were chosen, and never used to choose them: ordinary paragraphs whose
#: short words are shared between languages (French "en", "du", "de"; Dutch "en").
UNSEEN = {
    "fr": "Bonjour à tous, je voudrais parler du projet. Nous avons commencé en janvier et nous avons fini en mars. "
    "Le budget est de trois mille euros, mais il faut encore discuter avec l'équipe.",
    "es": "Hola a todos, quería hablar del proyecto. Empezamos en enero y terminamos en marzo. El presupuesto es de "
    "tres mil euros, pero todavía hay que hablar con el equipo.",
    "nl": "Hallo allemaal, ik wil het over het project hebben. We zijn in januari begonnen en in maart klaar. Het "
    "budget is drie duizend euro, maar we moeten nog met het team praten.",
    "de": "Hallo zusammen, ich möchte über das Projekt sprechen. Wir haben im Januar angefangen und im März "
    "aufgehört. Das Budget ist dreitausend Euro, aber wir müssen noch mit dem Team reden.",
}


@pytest.mark.parametrize("code", sorted(UNSEEN))
def test_paragraphs_not_used_for_tuning_are_named(code: str) -> None:
    guess = identify(UNSEEN[code])
    assert guess is not None and guess.language == code, guess


def test_a_word_of_a_multi_word_marker_does_not_count_alone() -> None:
    """German "weißt du" is a marker; "du" alone is French too, so it names neither language."""
    assert identify("du du du du du du") is None
