"""An MCP client that nobody on this project wrote: the official Python SDK (`mcp`).

Run by tests/mcp.rs against unifold's MCP server, over stdio (spawning the
`mcp_server` example once per connection) or Streamable HTTP (one endpoint, the
connection chosen by the `X-Unifold-Connection` header). For each connection it lists
the tools and checks their schemas and hints, creates a contact, reads it back, and
sends invalid input. Checks that fail raise; the results are printed as one JSON line
for the Rust test to assert on.

    client.py stdio SERVER_BINARY CONNECTION...   (UNIFOLD_CONNECTIONS is passed on if set)
    client.py http URL CONNECTION...              (token in UNIFOLD_MCP_TOKEN)
"""

import asyncio
import contextlib
import json
import os
import sys

from mcp import ClientSession, StdioServerParameters, stdio_client

try:  # mcp >= 2
    from mcp import MCPError
    from mcp.client.streamable_http import streamable_http_client
except ImportError:  # mcp 1.x
    from mcp.shared.exceptions import McpError as MCPError
    from mcp.client.streamable_http import streamablehttp_client as streamable_http_client


def wire(model):
    """A result as it was on the wire (camelCase keys), whatever the SDK's attribute names."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def tool_report(tools):
    """Checks the tools every connection must list, returns what the test asserts on."""
    by_name = {tool["name"]: tool for tool in tools}
    for name in ["create_contact", "get_contact", "delete_contact", "list_contacts"]:
        check(name in by_name, f"{name} is not listed: {sorted(by_name)}")
    create = by_name["create_contact"]
    properties = create["inputSchema"]["properties"]
    check("last_name" in properties, f"create_contact input lacks last_name: {sorted(properties)}")
    email = properties["email_addresses"]
    check(email["type"] == "array", f"email_addresses is not an array: {email}")
    check(
        email["items"]["properties"]["email_address"]["type"] == "string",
        f"email_address is not a string: {email}",
    )
    check(create["outputSchema"]["type"] == "object", "create_contact output is not an object")
    check("remote_id" in create["outputSchema"]["properties"], "create_contact output lacks remote_id")
    get = by_name["get_contact"]
    check(get["inputSchema"]["required"] == ["id"], f"get_contact input: {get['inputSchema']}")
    listing = by_name["list_contacts"]["outputSchema"]
    check(listing["properties"]["records"]["type"] == "array", f"list_contacts output: {listing}")
    return {
        "count": len(tools),
        "names": sorted(by_name),
        "get_contact_read_only": get["annotations"].get("readOnlyHint"),
        "create_contact_read_only": create["annotations"].get("readOnlyHint"),
        "delete_contact_destructive": by_name["delete_contact"]["annotations"].get("destructiveHint"),
    }


def error_text(result):
    return " ".join(block.get("text", "") for block in result.get("content", []))


async def exercise(session, connection):
    await session.initialize()
    listed = wire(await session.list_tools())
    report = {"connection": connection, "tools": tool_report(listed["tools"])}

    last_name = f"Lovelace-{connection}"
    email = f"ada.{connection}@example.com"
    created = wire(
        await session.call_tool(
            "create_contact",
            {"first_name": "Ada", "last_name": last_name, "email_addresses": [{"email_address": email}]},
        )
    )
    check(not created.get("isError"), f"create_contact failed on {connection}: {error_text(created)}")
    record = created["structuredContent"]
    report["created"] = {"remote_id": record["remote_id"], "last_name": record["last_name"]}

    read = wire(await session.call_tool("get_contact", {"id": record["remote_id"]}))
    check(not read.get("isError"), f"get_contact failed on {connection}: {error_text(read)}")
    fetched = read["structuredContent"]
    report["read"] = {
        "remote_id": fetched["remote_id"],
        "last_name": fetched["last_name"],
        "email": fetched["email_addresses"][0]["email_address"],
    }

    invalid = wire(
        await session.call_tool(
            "create_contact",
            {"last_name": "Invalid", "email_addresses": [{"email_address": "not-an-email"}]},
        )
    )
    report["invalid_email"] = {"is_error": invalid.get("isError", False), "text": error_text(invalid)}
    wrong_type = wire(await session.call_tool("create_contact", {"last_name": 5}))
    report["wrong_type"] = {"is_error": wrong_type.get("isError", False), "text": error_text(wrong_type)}

    try:
        await session.call_tool("create_contract", {})
        report["unknown_tool"] = None
    except MCPError as error:
        report["unknown_tool"] = {"code": error.error.code, "message": error.error.message}
    return report


@contextlib.asynccontextmanager
async def http_streams(url, token, connection):
    try:
        from mcp.shared._httpx_utils import create_mcp_http_client
    except ImportError:  # pragma: no cover - layout of other versions
        create_mcp_http_client = None
    headers = {"Authorization": f"Bearer {token}", "X-Unifold-Connection": connection}
    if create_mcp_http_client is None:
        async with streamable_http_client(url, headers=headers) as streams:
            yield streams[0], streams[1]
        return
    async with create_mcp_http_client(headers=headers) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            yield streams[0], streams[1]


async def run(mode, target, connections):
    reports = []
    for connection in connections:
        if mode == "stdio":
            env = {"RUST_LOG": "warn"}
            if "UNIFOLD_CONNECTIONS" in os.environ:
                env["UNIFOLD_CONNECTIONS"] = os.environ["UNIFOLD_CONNECTIONS"]
            server = StdioServerParameters(command=target, args=["--connection", connection], env=env)
            streams = stdio_client(server)
        else:
            streams = http_streams(target, os.environ["UNIFOLD_MCP_TOKEN"], connection)
        async with streams as (read, write):
            async with ClientSession(read, write) as session:
                reports.append(await exercise(session, connection))
    return reports


def main():
    mode, target, *connections = sys.argv[1:]
    reports = asyncio.run(run(mode, target, connections))
    print(json.dumps({"mode": mode, "connections": reports}))


if __name__ == "__main__":
    main()
