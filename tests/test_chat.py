"""Conversation: several turns about one image (or a before/after pair) encoded exactly once."""
import numpy as np
import pytest
from eolens.inference.cancel import CancelToken
from eolens.inference.chat import ChatTurn, Conversation
from eolens.inference.errors import Cancelled

FAMILIES = ("qwen3_vl", "qwen2_5_vl")


@pytest.fixture(scope="module", params=FAMILIES)
def backend(request, tiny_models):
    import torch
    from eolens.inference.models import qwen_vl

    return qwen_vl.load(None, tiny_models.path(request.param), "cpu", torch.float32)


@pytest.fixture(scope="module")
def pair(levir_cc_pair):
    return levir_cc_pair


@pytest.fixture(scope="module")
def harbor(shared_data):
    import rasterio

    with rasterio.open(shared_data / "captions" / "ucm_captions" / "harbor91.tif") as ds:
        return ds.read([1, 2, 3]).transpose(1, 2, 0).copy()[:96, :96]


@pytest.fixture
def vision_calls(backend):
    calls = []
    handle = backend.model.model.visual.register_forward_hook(lambda *a: calls.append(1))
    yield calls
    handle.remove()


def _chip():
    return np.random.default_rng(1).integers(0, 256, (96, 128, 3), dtype=np.uint8)


def test_three_turns_encode_the_image_once(backend, vision_calls, no_network):
    chat = Conversation(backend, _chip(), max_new_tokens=3)
    turns = [chat.ask(q) for q in ("What is this?", "How many roads?", "Any water?")]
    assert vision_calls == [1]
    assert [t.question for t in chat.history] == ["What is this?", "How many roads?", "Any water?"]
    assert all(isinstance(t, ChatTurn) and t.answer for t in turns)


def test_later_turns_see_the_earlier_answers(backend, monkeypatch):
    seen = []

    def fake_generate(messages, encoded, **kwargs):
        seen.append(messages)
        return f"answer {len(seen)}"

    chat = Conversation(backend, _chip())
    monkeypatch.setattr(backend, "generate", fake_generate)
    chat.ask("first?")
    chat.ask("second?")
    roles = [m["role"] for m in seen[1]]
    assert roles == ["user", "assistant", "user"]
    assert seen[1][1]["content"] == "answer 1" and seen[1][2]["content"] == "second?"
    images = [c for c in seen[1][0]["content"] if c.get("type") == "image"]
    assert len(images) == 1  # the image sits in the first user turn only


def test_boxes_in_an_answer_become_pixel_boxes(backend, monkeypatch):
    answer = {"3": '[{"bbox_2d": [0, 0, 500, 500], "label": "pond"}]',
              "2.5": '[{"bbox_2d": [0, 0, 70, 42], "label": "pond"}]'}[backend.version]
    chat = Conversation(backend, _chip())   # 96x128 -> Qwen2.5 input 84x140
    monkeypatch.setattr(backend, "generate", lambda *a, **k: answer)
    turn = chat.ask("Where is the pond?")
    [box] = turn.boxes
    assert (box.x0, box.y0, box.x1, box.y1, box.label) == pytest.approx((0, 0, 64, 48, "pond"))


def test_reset_forgets_turns_but_keeps_the_encoding(backend, vision_calls):
    chat = Conversation(backend, _chip(), max_new_tokens=2)
    chat.ask("What is this?")
    chat.reset()
    assert chat.history == []
    chat.ask("And now?")
    assert vision_calls == [1] and len(chat.history) == 1


def test_two_image_change_chat_encodes_the_pair_once(backend, pair, vision_calls, no_network):
    chat = Conversation(backend, pair[0], image_b=pair[1], max_new_tokens=3)
    chat.ask("What changed?")
    chat.ask("Were any houses built?")
    chat.ask("Where?")
    assert vision_calls == [1] and chat.encoded.count == 2 and len(chat.history) == 3


def test_cancel_inside_a_turn_leaves_history_unchanged(backend):
    chat = Conversation(backend, _chip(), max_new_tokens=20)
    cancel = CancelToken()
    with pytest.raises(Cancelled):
        chat.ask("Describe it.", progress=lambda p: cancel.cancel(), cancel=cancel)
    assert chat.history == []


def test_two_threads_asking_one_backend_take_turns(tiny_models, harbor, no_network):
    """The dock and a Processing run may share one cached model: calls are serialised."""
    import threading

    from eolens.inference.chat import Conversation
    from eolens.inference.models.runtime import load_model

    backend = load_model(str(tiny_models.path("qwen3_vl")), device="cpu")
    image = harbor
    inside, overlaps = [0], []
    real = backend.model.generate

    def watched(*args, **kwargs):
        inside[0] += 1
        overlaps.append(inside[0])
        try:
            return real(*args, **kwargs)
        finally:
            inside[0] -= 1

    backend.model.generate = watched
    try:
        answers = {}

        def chat(key):
            answers[key] = Conversation(backend, image, max_new_tokens=4).ask("What is here?").answer

        threads = [threading.Thread(target=chat, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        backend.model.generate = real
    assert len(answers) == 3 and max(overlaps) == 1
    assert len(set(answers.values())) == 1        # same question, same image: same greedy answer


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen2_5_vl"])
def test_a_turn_that_extends_the_cache_runs_only_its_new_tokens(tiny_models, harbor, family,
                                                               no_network):
    """Turn 2 reuses turn 1's key/value cache (image included): the language model sees only the
    new tokens, and the greedy answer equals a full pass over the whole prompt."""
    import torch

    from eolens.inference.models.qwen_vl import PrefixCache, user_turn
    from eolens.inference.models.runtime import load_model

    backend = load_model(str(tiny_models.path(family)), device="cpu")
    image = harbor
    encoded, cache = backend.encode([image]), PrefixCache()
    turn1 = backend._tokenize([user_turn("What is here?", 1)], encoded)
    backend.generate_ids(turn1, encoded, max_new_tokens=5, cache=cache)
    proc = backend.processor
    follow = proc.tokenizer("<|im_end|>\n<|im_start|>user\nHow many boats?<|im_end|>\n"
                            "<|im_start|>assistant\n", return_tensors="pt")["input_ids"]
    ids = torch.cat([cache.ids, follow], dim=1)
    turn2 = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
             "mm_token_type_ids": torch.tensor(proc.create_mm_token_type_ids(ids), dtype=torch.int32)}
    seen = []
    hook = backend.model.register_forward_pre_hook(
        lambda m, a, k: seen.append(k["input_ids"].shape[1]), with_kwargs=True)
    try:
        cached = backend.generate_ids(turn2, encoded, max_new_tokens=5, cache=cache)
        first_cached = seen[0]
        seen.clear()
        full = backend.generate_ids(turn2, encoded, max_new_tokens=5)
        first_full = seen[0]
    finally:
        hook.remove()
    assert cached.tolist() == full.tolist()
    assert first_full == ids.shape[1] and first_cached < follow.shape[1] + 2


def test_a_conversation_answers_the_same_with_or_without_its_cache(tiny_models, harbor,
                                                                    no_network):
    """When a chat template re-renders history differently the cache is dropped, never misused."""
    from eolens.inference.chat import Conversation
    from eolens.inference.models.runtime import load_model

    backend = load_model(str(tiny_models.path("qwen3_vl")), device="cpu")
    image = harbor
    questions = ("What is here?", "How many boats?", "Where is the pier?")
    cached = Conversation(backend, image, max_new_tokens=6)
    with_cache = [cached.ask(q).answer for q in questions]
    fresh = Conversation(backend, image, max_new_tokens=6)
    without = []
    for q in questions:
        fresh.cache = type(fresh.cache)()
        without.append(fresh.ask(q).answer)
    assert with_cache == without


BF16_ULPS = 4  # the bound qwen_vl.PrefixCache documents, in units of 2**-8 of the largest logit


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen2_5_vl"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_cache_reuse_matches_a_fresh_pass_as_documented(tiny_models, harbor, family, dtype,
                                                        no_network):
    """The first new token's logits with the reused cache vs a fresh full pass: ~1e-6 in fp32,
    within a few bf16 rounding units in bf16; the greedy token agrees when its lead is larger."""
    import torch

    from eolens.inference.models import qwen_vl
    from eolens.inference.models.qwen_vl import PrefixCache, user_turn

    backend = qwen_vl.load(None, tiny_models.path(family), "cpu", getattr(torch, dtype))
    encoded, cache = backend.encode([harbor]), PrefixCache()
    turn1 = backend._tokenize([user_turn("What is here?", 1)], encoded)
    backend.generate_ids(turn1, encoded, max_new_tokens=5, cache=cache)
    proc = backend.processor
    follow = proc.tokenizer("<|im_end|>\n<|im_start|>user\nHow many boats?<|im_end|>\n"
                            "<|im_start|>assistant\n", return_tensors="pt")["input_ids"]
    ids = torch.cat([cache.ids, follow], dim=1)
    turn2 = {"input_ids": ids, "attention_mask": torch.ones_like(ids),
             "mm_token_type_ids": torch.tensor(proc.create_mm_token_type_ids(ids), dtype=torch.int32)}
    logits = []
    hook = backend.model.lm_head.register_forward_hook(
        lambda m, a, out: logits.append(out[0, -1].float().clone()))
    try:
        cached = backend.generate_ids(turn2, encoded, max_new_tokens=1, cache=cache)
        fresh = backend.generate_ids(turn2, encoded, max_new_tokens=1)
    finally:
        hook.remove()
    with_cache, without = logits[0], logits[1]
    scale = float(without.abs().max())
    bound = 1e-5 * scale if dtype == "float32" else BF16_ULPS * 2.0 ** -8 * scale
    assert float((with_cache - without).abs().max()) <= bound
    top2 = torch.topk(without, 2).values
    if dtype == "float32" or float(top2[0] - top2[1]) > 2 * bound:
        assert cached.tolist() == fresh.tolist()
