"""What the bot needs in a channel, checked when a command is typed (the interaction carries the bot's
resolved permissions there: Interaction.app_permissions), so an operator hears what is missing at
once instead of a session that never reports."""

from __future__ import annotations

import nextcord

NEEDED = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "attach_files": "Attach Files",
    "embed_links": "Embed Links",
    "add_reactions": "Add Reactions",
    "read_message_history": "Read Message History",
}

# The invite's permission integer (README): exactly NEEDED.
INVITE_PERMISSIONS = nextcord.Permissions(**dict.fromkeys(NEEDED, True))

# Who sees the commands by default: members who can manage the server; a server admin then grants
# them to the operators' role (Server Settings > Integrations). The allow-list still decides.
OPERATOR_COMMANDS = nextcord.Permissions(manage_guild=True)


def missing(permissions: nextcord.Permissions) -> list[str]:
    return [label for name, label in NEEDED.items() if not getattr(permissions, name)]


def refusal(names: list[str]) -> str:
    return (
        f"I cannot work in this channel: I am missing {', '.join(names)}. Ask a server admin to grant "
        "them to the Narcis role here, or use another channel."
    )
