"""What the chat sends to Gemini: the system instruction (loaded once, at startup), the tools and
the conversation with the project context attached to the latest user turn.

The context rides as a separate part of the LAST user turn rather than being prepended to the first
one: it is a snapshot taken when the user asked, so it belongs next to the question it answers,
ids from earlier snapshots in the history are then clearly superseded, and the unchanged prefix
(system instruction + earlier turns) stays cacheable by Gemini's implicit prompt caching.
"""

from dataclasses import dataclass
from pathlib import Path

from google.genai import types

from apps.chat.context import ProjectContext
from apps.chat.tools import gemini_tools

SYSTEM_INSTRUCTION_PATH = Path(__file__).with_name("system_instruction.md")
# Read at import; ChatConfig.ready() imports this module, so a missing file stops the boot.
SYSTEM_INSTRUCTION = SYSTEM_INSTRUCTION_PATH.read_text(encoding="utf-8").strip()
if not SYSTEM_INSTRUCTION:
    raise RuntimeError(f"{SYSTEM_INSTRUCTION_PATH} is empty")

CONTEXT_MARKER = "[Project context]"
REPAIR_MARKER = "[Repair request]"
CONVERSATION_START = "[Conversation start]"


@dataclass(frozen=True)
class ChatTurn:
    role: str  # "user" or "model"
    text: str


def chat_config() -> types.GenerateContentConfig:
    return types.GenerateContentConfig(
        system_instruction=SYSTEM_INSTRUCTION,
        tools=gemini_tools(),
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(mode=types.FunctionCallingConfigMode.AUTO)
        ),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )


def context_part_text(*, context: ProjectContext, locale: str) -> str:
    return f"{CONTEXT_MARKER}\n{context.as_prompt_json()}\n[Locale fallback] {locale or 'ko'}"


def conversation_contents(*, turns: list[ChatTurn], context: ProjectContext, locale: str) -> list[types.Content]:
    """The history as Gemini contents: blank turns skipped, adjacent turns of one role merged,
    a user turn first, and the context part appended to the latest user turn."""
    contents: list[types.Content] = []
    for turn in turns:
        text = turn.text.strip()
        if not text:
            continue
        if contents and contents[-1].role == turn.role:
            contents[-1].parts[0].text += f"\n\n{text}"
        else:
            contents.append(types.Content(role=turn.role, parts=[types.Part(text=text)]))
    if not contents or contents[0].role != "user":
        contents.insert(0, types.Content(role="user", parts=[types.Part(text=CONVERSATION_START)]))
    context_part = types.Part(text=context_part_text(context=context, locale=locale))
    if contents[-1].role == "user":
        contents[-1].parts.append(context_part)
    else:
        contents.append(types.Content(role="user", parts=[context_part]))
    return contents


def repair_contents(
    *, contents: list[types.Content], model_text: str, call_lines: list[str], problems: list[str]
) -> list[types.Content]:
    """One more turn asking the model to fix calls that broke their declarations.

    The model's earlier calls are replayed as text, not as functionCall parts, so no functionResponse
    (and no thought signature) is needed to continue the conversation."""
    summary = "\n".join(filter(None, [model_text.strip(), "Calls proposed:", *call_lines]))
    request = "\n".join(
        [
            REPAIR_MARKER,
            "These calls could not be used:",
            *(f"- {problem}" for problem in problems),
            "Answer the user's last message again: call the functions with corrected arguments as structured "
            "function calls, following the declarations exactly, or answer in text (for example to ask for a "
            "missing value) if you cannot.",
        ]
    )
    return [
        *contents,
        types.Content(role="model", parts=[types.Part(text=summary)]),
        types.Content(role="user", parts=[types.Part(text=request)]),
    ]
