"""The exercise checks speak Chinese after `gl.set_language("zh")`: a wrong answer still names its case and its
numbers, a question's hint and explanation come from the catalog, and back in English every message is unchanged."""
import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest
import torch

from gan_lessons import i18n
from gan_lessons.checks import QUESTIONS, answer, compare_tensor, lesson00, lesson02, lesson04, lesson06, lesson07
from gan_lessons.checks import lesson10, lesson11

CATALOG = Path(__file__).resolve().parents[1] / "gan_lessons" / "locale" / "zh" / "checks.json"
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def chinese():
    i18n.set_language("zh")
    yield
    i18n.set_language("en")


def jsd_in_bits(p, q, x):
    m = (p + q) / 2
    kl = lambda a: torch.trapezoid(torch.xlogy(a, a) - torch.xlogy(a, m), x)
    return ((kl(p) + kl(q)) / 2 / math.log(2)).item()


def log_classifier_score(probs):
    marginal = probs.mean(0, keepdim=True)
    return (torch.xlogy(probs, probs) - torch.xlogy(probs, marginal)).sum(1).mean().item()


def flipped_reverse_kl(counts):
    q = counts[counts > 0].double() / counts.sum()
    return -float((q * (q * len(counts)).log()).sum())


def test_a_wrong_reverse_kl_is_explained_in_chinese_with_its_case_and_numbers(chinese):
    result = lesson00.check_reverse_kl(flipped_reverse_kl)
    assert not result.ok
    # the first case, all 8 counts equal, gives 0 either way; the second is the first to differ
    expected = math.log(8)
    assert result.message == ("对于“全部样本都在 8 个模式中的一个上”（[0, 0, 0, 120, 0, 0, 0, 0]），反向 KL 应为 "
                              f"{expected:.4f}，你的结果是 {-expected:.4f}。符号反了：KL(q || u) = sum q_k log(q_k / u_k) "
                              "永远不会是负数。")
    assert repr(result).startswith("还不对：")


def test_the_same_wrong_answer_in_english_is_unchanged():
    i18n.set_language("zh")
    lesson00.check_reverse_kl(flipped_reverse_kl)
    i18n.set_language("en")
    result = lesson00.check_reverse_kl(flipped_reverse_kl)
    assert result.message == (f"for all samples on one of 8 modes ([0, 0, 0, 120, 0, 0, 0, 0]) the reverse KL is "
                              f"{math.log(8):.4f}, yours is {-math.log(8):.4f}. The sign is flipped: KL(q || u) = "
                              "sum q_k log(q_k / u_k) is never negative.")
    assert repr(result).startswith("Not yet: ")
    assert repr(lesson00.check_reverse_kl(lambda c: -flipped_reverse_kl(c))).startswith("Correct: ")


@pytest.mark.parametrize("check, wrong, phrases", [
    (lesson02.check_conv_transpose_size, lambda n, k, s, p: (n - 1) * s + k,
     ["size=7, kernel=4, stride=2, padding=1", "你给出 16", "PyTorch 给出 14", "你忘了填充"]),
    (lesson04.check_jsd, jsd_in_bits,
     ["“N(0, 1) 与 N(1, 0.5^2)”", "JSD 应为", "以 2 为底的对数", "0.693"]),
    (lesson06.check_conv_output_size, lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1,
     ["n=28, k=5, s=2, p=2", "你给出 15", "应为 14", "向下取整"]),
    (lesson07.check_gda_eigenvalues, lambda lr: (1 + lr, 1 - lr), ["特征值", "1 +- i lr", "np.linalg.eigvals"]),
    (lesson10.check_classifier_score, log_classifier_score,
     ["“对全部十个数字都有把握的预测”", "2.3026", "得分的对数"]),
    (lesson11.check_paired_difference, lambda a, b: ((a - b).mean().item(), (a - b).std().item()),
     ["差值的标准差", "sqrt(n)"]),
], ids=["conv_transpose", "jsd", "conv_size", "gda", "classifier_score", "paired_difference"])
def test_each_lesson_explains_a_wrong_answer_in_chinese(chinese, check, wrong, phrases):
    result = check(wrong)
    assert not result.ok and CJK.search(result.message), result.message
    for phrase in phrases:
        assert phrase in result.message, (phrase, result.message)


def test_a_failure_of_the_students_code_and_a_library_shortcut_are_said_in_chinese(chinese):
    def unfinished(counts):
        raise NotImplementedError

    assert lesson00.check_reverse_kl(unfinished).message == "函数仍然抛出 NotImplementedError：请把那一行换成你的代码"
    raising = lesson00.check_reverse_kl(lambda counts: 1 / 0)
    assert raising.message == "函数抛出了 ZeroDivisionError：division by zero"
    shortcut = lesson04.check_jsd(lambda p, q, x: lesson04.theory.jsd(p, q, x))
    assert "gan_lessons.theory.jsd" in shortcut.message and "库里这道练习的现成版本" in shortcut.message


def test_compare_tensor_names_the_translated_quantity_and_its_shapes(chinese):
    from gan_lessons.i18n import tr

    verdict = compare_tensor(tr("the loss"), torch.zeros(3), torch.zeros(()))
    assert verdict.message == "损失：形状为 (3,)，应为 ()"
    verdict = compare_tensor(tr("the loss"), torch.tensor(1.5), torch.tensor(1.0))
    assert verdict.message.startswith("损失：与期望值最多相差 0.5（你的是 1.5，期望值是 1）")


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_every_questions_hints_and_explanation_are_chinese(chinese, name):
    question, zh = QUESTIONS[name], i18n.catalog("zh")
    right = answer(name, question.answer)
    assert right.ok and right.message == zh[question.why] and CJK.search(right.message)
    for letter, hint in question.hints.items():
        wrong = answer(name, letter if question.choices else float(question.answer) + 10 * question.tolerance + 1)
        assert not wrong.ok and wrong.message == zh[hint] and CJK.search(wrong.message), (name, letter)
    for text in (question.text, *question.choices.values()):
        assert CJK.search(zh[text]), text


def test_a_wrong_question_answer_is_chinese_and_the_same_in_english_afterwards():
    question = QUESTIONS["04.saturation"]
    i18n.set_language("zh")
    try:
        hint = answer("04.saturation", "a").message
        assert hint.startswith("它是博弈本身的目标，但 G 只能通过 logit 影响 D")
        assert answer("04.saturation", "z").message == "请用 a, b, c, d 中的一个作答（你给出的是 'z'）"
        assert answer("04.nonexistent", "a").message.startswith("question='04.nonexistent' 不是课程中的问题")
    finally:
        i18n.set_language("en")
    assert answer("04.saturation", "a").message == question.hints["a"]
    assert answer("04.saturation", "b").message == question.why
    assert answer("04.saturation", "z").message == "answer with one of a, b, c, d (got 'z')"


def test_the_checks_catalog_keeps_numbers_and_code_names():
    """A translation may reorder a sentence, but it keeps every number and every code name of the English."""
    number = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:e-?\d+)?")
    code = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?|[A-Za-z]\w*_\w*|\w+\(\)")
    lost = []
    for english, chinese in json.loads(CATALOG.read_text(encoding="utf-8")).items():
        assert CJK.search(chinese) or chinese == "logit", english  # the glossary keeps "logit"
        for pattern in (number, code):
            missing = Counter(t for t in pattern.findall(english) if t not in ("e.g", "i.e")) - Counter(
                pattern.findall(chinese))
            if missing:
                lost.append(f"{english!r}: {sorted(missing)}")
    assert not lost, "\n".join(lost)
