"""Code in a process cannot exhaust the hall: each attack is refused at deploy when its text shows
it, else stopped at run time with a Chinese message naming the node, and nothing is stored."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from hall_common import db
from hall_common.consumer import PermanentEventError
from services.workflow import bounds, definitions, instances, sandbox, steps
from services.workflow.bounds import LimitExceeded

from . import attacks
from .conftest import center, complete, events_of, post, resubmit, submit, tasks, the_task


def deploy(app: Flask, xml: str) -> tuple[int, str, str]:
    response = post(app, "/definitions/employer_change/deploy", center(), {"bpmn_xml": xml, "note": "试"})
    body = response.get_json()
    return response.status_code, body.get("message", ""), (body.get("errors") or {}).get("element", "")


def install(app: Flask, xml: str, key: str = "employer_change") -> None:
    """Past the deploy checks, as a definition stored before they existed would be."""
    with app.app_context():
        definitions.install(key, xml, "test")
        db.session().commit()


def refusal(step: Callable[[], object]) -> str:
    """The Chinese message of a start or resubmission refused (the worker parks it as a dead letter at
    once: a PermanentEventError is never retried)."""
    with pytest.raises(instances.ProcessRefused) as refused:
        step()
    assert isinstance(refused.value, PermanentEventError)
    return str(refused.value)


@pytest.mark.parametrize(("code", "message"), list(attacks.STATIC_CONDITIONS.items()))
def test_an_attack_the_text_shows_is_refused_at_deploy_naming_its_flow(app: Flask, code: str, message: str) -> None:
    status, said, element = deploy(app, attacks.with_condition(code))
    assert (status, element) == (422, "Flow_approved"), said
    assert said.startswith("元素「通过」(Flow_approved) 的条件不允许：") and message in said, said


@pytest.mark.parametrize(("code", "data", "message"), [
    ("round(x, n)", {"x": 1, "n": -100000000}, "round 的位数应在 -20 到 20 之间"),
    ("s % 1", {"s": "%1000000000d"}, "不允许使用 % 格式化字符串"),
    ("[0] * n", {"n": 200000000}, "重复后的字符串或列表超出10000个元素"),
    ("s * n", {"s": "a", "n": 10 ** 9}, "重复后的字符串或列表超出10000个元素"),
    ("x * x", {"x": 10 ** 60}, "整数超出100位"),
    ("str(x)", {"x": [[0] * 1000] * 1000}, "字符串或列表超出10000个元素"),
    ("l * 100", {"l": [[0] * 1000]}, "重复后的字符串或列表超出10000个元素"),
    ("int(s)", {"s": "9" * 5000}, "整数超出100位"),
    ("str(x)", {"x": 10 ** 4000}, "整数超出100位"),
])
def test_every_value_an_expression_makes_is_bounded_before_it_is_made(code: str, data: dict[str, object],
                                                                     message: str) -> None:
    with pytest.raises(LimitExceeded, match=message.replace("%", "%")):
        sandbox.evaluate(code, data)


def test_a_script_squaring_26_times_stops_at_the_digit_bound() -> None:
    data: dict[str, object] = {}
    with pytest.raises(LimitExceeded, match="整数超出100位"):
        sandbox.execute(attacks.SQUARING, data)
    assert "x" not in data  # nothing of a refused script reaches the process data


def test_an_evaluation_has_a_step_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sandbox.evaluate("+".join(["a"] * 50), {"a": 1}) == 50
    monkeypatch.setattr(bounds, "MAX_STEPS", 10)
    with pytest.raises(LimitExceeded, match="计算步骤超过10步"):
        sandbox.evaluate("+".join(["a"] * 50), {"a": 1})


def test_ordinary_code_still_runs_and_process_data_cannot_shadow_the_checks() -> None:
    data = {"amount": 1234.567, "__hall_ops": "mine", "names": ["甲", "乙"]}
    assert sandbox.evaluate("round(amount, 2) == 1234.57 and len(names) == 2 and -amount < 0", data)
    sandbox.execute("total = max(1, 2) + int('3')\nlabel = str(total) + '元'\nif total > 4:\n    big = True", data)
    assert (data["total"], data["label"], data["big"]) == (5, "5元", True)


def test_a_squaring_script_before_the_first_task_is_a_dead_letter_naming_it_and_stores_nothing(app: Flask) -> None:
    install(app, attacks.with_script(attacks.SQUARING.replace("\n", "&#10;")))
    assert "节点「计算」(Task_script)：整数超出100位" in refusal(lambda: submit(app))
    assert tasks(app, center()) == [] and events_of(app, "process.started") == []


def test_data_beyond_the_cap_is_refused_naming_the_node(app: Flask) -> None:
    script = "&#10;".join(f"s{i} = 'x' * 9000" for i in range(8))  # eight bounded strings, 72 KB together
    install(app, attacks.with_script(script))
    assert "节点「计算」(Task_script)：流程数据超过64KB" in refusal(lambda: submit(app))
    assert tasks(app, center()) == []


def test_a_loop_without_a_user_task_stops_at_the_node_budget(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    install(app, attacks.looping())
    monkeypatch.setattr(steps, "MAX_NODES_PER_STEP", 50)
    assert "自动执行的节点超过50个（流程中可能有不经人工任务的循环）" in refusal(lambda: submit(app))


def test_a_condition_attacking_at_completion_answers_422_and_keeps_the_task(app: Flask) -> None:
    install(app, attacks.with_condition("round(1, n) == 1 and approved == True"))
    submit(app, variables={"n": -100000000})
    task = the_task(app)["task"]
    refused = complete(app, task["id"], "approve")
    assert refused.status_code == 422
    assert "节点「审核结果」(Gateway_decision)：round 的位数应在 -20 到 20 之间" in refused.get_json()["message"]
    assert the_task(app)["task"]["status"] == "open" and events_of(app, "business.approved") == []


def test_a_resubmission_with_data_beyond_the_cap_is_refused_and_stays_returned(app: Flask) -> None:
    submit(app)
    assert complete(app, the_task(app)["task"]["id"], "return", "请更正").status_code == 200
    assert "流程数据超过64KB" in refusal(lambda: resubmit(app, variables={"note": "长" * 30000}))  # 90 KB
    assert events_of(app, "process.resubmitted") == []
    with app.app_context():
        from services.workflow.models import ProcessInstance

        assert db.session().query(ProcessInstance).one().status == "returned"


def test_every_process_of_the_file_is_checked_and_a_call_cycle_is_named(app: Flask) -> None:
    status, message, element = deploy(app, attacks.with_called_process("y = [0] * 200000000"))
    assert (status, element) == (422, "S_task"), message
    assert message.startswith("元素「辅助计算」(S_task) 的脚本不允许：重复后的字符串或列表超出10000个元素"), message
    status, message, element = deploy(app, attacks.with_called_process("y = 1", cycle=True))
    assert (status, element) == (422, "Call_back"), message
    assert "形成循环调用：employer_change → helper_process → employer_change" in message
    assert deploy(app, attacks.with_called_process("y = 1"))[0] == 201
    submit(app)  # and the called process runs once the review approves
    assert complete(app, the_task(app)["task"]["id"], "approve").status_code == 200
    assert len(events_of(app, "business.approved")) == 1


def test_node_and_user_task_caps_and_nesting_depth_are_named(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.workflow import documents

    monkeypatch.setattr(documents, "MAX_NODES", 3)
    assert "流程节点过多（5个，最多3个）" in deploy(app, attacks.GOOD)[1]
    monkeypatch.setattr(documents, "MAX_NODES", 300)
    monkeypatch.setattr(documents, "MAX_USER_TASKS", 0)
    assert "人工任务过多（1个，最多0个）" in deploy(app, attacks.GOOD)[1]
    monkeypatch.setattr(documents, "MAX_USER_TASKS", 50)
    nested = attacks.GOOD.replace("</bpmn:process>", "<bpmn:extensionElements>" + "<x:a xmlns:x='urn:x'>" * 60
                                  + "</x:a>" * 60 + "</bpmn:extensionElements></bpmn:process>", 1)
    status, message, _ = deploy(app, nested)
    assert status == 422 and message.startswith("流程文件嵌套层级过深（最多40层）"), message
    deeper = nested.replace("<x:a xmlns:x='urn:x'>" * 60, "<x:a xmlns:x='urn:x'>" * 300).replace(
        "</x:a>" * 60, "</x:a>" * 300)  # beyond what the XML parser itself reads (256 levels)
    assert deploy(app, deeper)[:2] == (422, "流程文件嵌套层级过深（最多40层）")


def test_list_literals_are_counted_too_so_nesting_by_reference_cannot_grow_without_bound() -> None:
    with pytest.raises(LimitExceeded, match="字符串或列表超出10000个元素"):
        sandbox.execute("l = [0] * 5000\na = [l, l, l]", {})
    data: dict[str, object] = {}
    sandbox.execute("l = [0] * 10\nt = (l, l)\nu = [t]", data)
    assert data["u"] == [([0] * 10, [0] * 10)]


def test_an_evaluation_has_a_time_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounds, "EVALUATION_SECONDS", 0.0)
    with pytest.raises(LimitExceeded, match="计算超过0秒"):
        sandbox.evaluate("a + 1", {"a": 1})


@pytest.mark.parametrize(("condition", "variables", "detail"), [
    ("amount / n > 1 and approved == True", {"amount": 1, "n": 0}, "除数为零"),
    ("amount / 3 > 1 and approved == True", {"amount": 10 ** 400}, "数值超出范围"),
])
def test_arithmetic_errors_on_the_data_are_told_in_chinese(app: Flask, condition: str,
                                                          variables: dict[str, object], detail: str) -> None:
    install(app, attacks.with_condition(condition))
    submit(app, variables=variables)
    refused = complete(app, the_task(app)["task"]["id"], "approve")
    assert refused.status_code == 422
    assert f"节点「审核结果」(Gateway_decision)：{detail}" in refused.get_json()["message"], refused.get_json()


def test_code_of_a_called_process_is_bounded_at_run_time_too(app: Flask) -> None:
    assert deploy(app, attacks.with_called_process("y = x * x"))[0] == 201
    submit(app, variables={"x": 10 ** 60})
    refused = complete(app, the_task(app)["task"]["id"], "approve")
    assert refused.status_code == 422
    assert "节点「辅助计算」(S_task)：整数超出100位" in refused.get_json()["message"], refused.get_json()
    assert the_task(app)["task"]["status"] == "open"
