"""Processes that try to exhaust the hall through their code, built on the tests' employer change
file: shared by the workflow unit tests and the integration test on a real worker."""

from __future__ import annotations

from pathlib import Path

GOOD = (Path(__file__).resolve().parent / "employer_change.bpmn").read_text(encoding="utf-8")
CONDITION = "approved == True"
# Each refused at deploy from the text alone, naming the sequence flow that holds it.
STATIC_CONDITIONS = {
    "round(1, -100000000) == 1": "round 的位数应在 -20 到 20 之间",
    "'%1000000000d' % 1 == ''": "不允许使用 % 格式化字符串",
    "len([0]*200000000) > 0": "重复后的字符串或列表超出10000个元素",
    "len('a'*10**9) > 0": "不允许使用 乘方（**）",
    "10**10**10 > 0": "不允许使用 乘方（**）",
    "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012 > 0":
        "整数超出100位",
}
SQUARING = "x = 2\n" + "x = x * x\n" * 26  # 2**(2**26): 20 million digits, in one C call at the end


def with_condition(code: str, xml: str = GOOD) -> str:
    return xml.replace(CONDITION, code.replace("&", "&amp;").replace("<", "&lt;"))


def with_script(script: str, process_key: str = "employer_change", xml: str = GOOD) -> str:
    """A script task between the start and the first user task: it runs when the business is submitted."""
    return xml.replace(
        '<bpmn:sequenceFlow id="Flow_to_review" sourceRef="StartEvent_submitted" targetRef="Task_center_review" />',
        '<bpmn:scriptTask id="Task_script" name="计算" scriptFormat="python"><bpmn:incoming>Flow_a</bpmn:incoming>'
        f'<bpmn:outgoing>Flow_b</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>'
        '<bpmn:sequenceFlow id="Flow_a" sourceRef="StartEvent_submitted" targetRef="Task_script" />'
        '<bpmn:sequenceFlow id="Flow_b" sourceRef="Task_script" targetRef="Task_center_review" />',
    ).replace('<bpmn:outgoing>Flow_to_review</bpmn:outgoing>', '<bpmn:outgoing>Flow_a</bpmn:outgoing>').replace(
        '<bpmn:incoming>Flow_to_review</bpmn:incoming>', '<bpmn:incoming>Flow_b</bpmn:incoming>').replace(
        'id="employer_change"', f'id="{process_key}"')


def looping() -> str:
    """A script task whose gateway sends it back to itself for ever: no user task between."""
    return with_script("n = 1").replace(
        '<bpmn:sequenceFlow id="Flow_b" sourceRef="Task_script" targetRef="Task_center_review" />',
        '<bpmn:sequenceFlow id="Flow_b" sourceRef="Task_script" targetRef="Gateway_loop" />'
        '<bpmn:exclusiveGateway id="Gateway_loop" name="再算一次" default="Flow_again">'
        '<bpmn:incoming>Flow_b</bpmn:incoming><bpmn:outgoing>Flow_again</bpmn:outgoing>'
        '<bpmn:outgoing>Flow_on</bpmn:outgoing></bpmn:exclusiveGateway>'
        '<bpmn:sequenceFlow id="Flow_again" sourceRef="Gateway_loop" targetRef="Task_script" />'
        '<bpmn:sequenceFlow id="Flow_on" sourceRef="Gateway_loop" targetRef="Task_center_review">'
        '<bpmn:conditionExpression>n &lt; 0</bpmn:conditionExpression></bpmn:sequenceFlow>',
    ).replace('<bpmn:incoming>Flow_a</bpmn:incoming>', '<bpmn:incoming>Flow_a</bpmn:incoming>'
              '<bpmn:incoming>Flow_again</bpmn:incoming>').replace(
        '<bpmn:incoming>Flow_b</bpmn:incoming>\n      <bpmn:outgoing>Flow_to_gateway',
        '<bpmn:incoming>Flow_on</bpmn:incoming>\n      <bpmn:outgoing>Flow_to_gateway')


def with_called_process(called_script: str, cycle: bool = False) -> str:
    """A call activity after the review reaching a second process in the same file; that process
    runs ``called_script``, and with ``cycle`` calls the first one back."""
    callback = ('<bpmn:callActivity id="Call_back" name="回调" calledElement="employer_change">'
                '<bpmn:incoming>F2</bpmn:incoming><bpmn:outgoing>F3</bpmn:outgoing></bpmn:callActivity>'
                '<bpmn:sequenceFlow id="F2" sourceRef="S_task" targetRef="Call_back" />'
                '<bpmn:sequenceFlow id="F3" sourceRef="Call_back" targetRef="S_end" />') if cycle else (
                '<bpmn:sequenceFlow id="F2" sourceRef="S_task" targetRef="S_end" />')
    second = (
        '<bpmn:process id="helper_process" isExecutable="true">'
        '<bpmn:startEvent id="S_start"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>'
        '<bpmn:scriptTask id="S_task" name="辅助计算"><bpmn:incoming>F1</bpmn:incoming>'
        '<bpmn:outgoing>F2</bpmn:outgoing>'
        f'<bpmn:script>{called_script}</bpmn:script></bpmn:scriptTask>'
        f'<bpmn:endEvent id="S_end"><bpmn:incoming>{"F3" if cycle else "F2"}</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="F1" sourceRef="S_start" targetRef="S_task" />'
        f'{callback}</bpmn:process>'
    )
    caller = GOOD.replace(
        '<bpmn:sequenceFlow id="Flow_to_gateway" sourceRef="Task_center_review" targetRef="Gateway_decision" />',
        '<bpmn:callActivity id="Call_helper" name="调用辅助流程" calledElement="helper_process">'
        '<bpmn:incoming>Flow_to_gateway</bpmn:incoming><bpmn:outgoing>Flow_after_call</bpmn:outgoing>'
        '</bpmn:callActivity>'
        '<bpmn:sequenceFlow id="Flow_to_gateway" sourceRef="Task_center_review" targetRef="Call_helper" />'
        '<bpmn:sequenceFlow id="Flow_after_call" sourceRef="Call_helper" targetRef="Gateway_decision" />',
    ).replace('<bpmn:incoming>Flow_to_gateway</bpmn:incoming>\n      <bpmn:outgoing>Flow_approved',
              '<bpmn:incoming>Flow_after_call</bpmn:incoming>\n      <bpmn:outgoing>Flow_approved')
    return caller.replace("</bpmn:process>", "</bpmn:process>" + second, 1)
