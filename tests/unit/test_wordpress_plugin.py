"""The companion WordPress plugin must accept exactly the codes the portal issues."""

from __future__ import annotations

import re
from pathlib import Path

from portal.distributors import codes

PLUGIN = (
    Path(__file__).parents[2]
    / "plugins/woocommerce_bridge/wordpress/portal-bridge/portal-bridge.php"
)


def _php_class_members() -> set[str]:
    pattern = re.search(r"preg_match\( '/\^\[([^\]]+)\]\{(\d),(\d)\}\$/'", PLUGIN.read_text())
    assert pattern, "code pattern not found in the plugin"
    members: set[str] = set()
    spec = pattern.group(1)
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            members |= {chr(c) for c in range(ord(spec[i]), ord(spec[i + 2]) + 1)}
            i += 3
        else:
            members.add(spec[i])
            i += 1
    assert (int(pattern.group(2)), int(pattern.group(3))) == (codes.MIN_LENGTH, codes.MAX_LENGTH)
    return members


def test_plugin_code_pattern_matches_the_portal_alphabet() -> None:
    assert _php_class_members() == set(codes.ALPHABET)


def test_plugin_declares_hpos_and_writes_the_meta_the_bridge_reads() -> None:
    text = PLUGIN.read_text()
    assert "declare_compatibility( 'custom_order_tables'" in text
    assert re.search(r"const PORTAL_BRIDGE_META\s+= '_portal_ref';", text)
    assert "woocommerce_checkout_create_order" in text
    assert "woocommerce_store_api_checkout_update_order_from_request" in text
    assert "GPL-2.0-or-later" in text


def test_plugin_adds_distributor_centre_to_my_account_and_signs_with_the_signer() -> None:
    text = PLUGIN.read_text()
    assert "'woocommerce_account_menu_items'" in text
    assert "'woocommerce_get_query_vars'" in text
    assert "const PORTAL_BRIDGE_ENDPOINT = 'distributor-centre';" in text
    assert "require_once __DIR__ . '/includes/signin.php';" in text
    assert "portal_bridge_signin_secret" in text
    assert (PLUGIN.parent / "includes" / "signin.php").exists()


def test_plugin_keeps_exactly_the_sub_ids_the_portal_sends() -> None:
    """``portal_bridge_clean_sub``'s pattern is the portal's ``SUB_RE``, and the plugin
    writes the sub-id as the ``_portal_sub`` meta the bridge reads."""
    from portal.links.services import SUB_RE

    text = PLUGIN.read_text()
    found = re.search(
        r"portal_bridge_clean_sub\( \$raw \) \{.*?preg_match\( '/\^(.+?)\$/'", text, re.S
    )
    assert found, "sub-id pattern not found in the plugin"
    assert found.group(1).replace("\\\\", "\\") == SUB_RE.pattern
    assert re.search(r"const PORTAL_BRIDGE_SUB_META = '_portal_sub';", text)
    assert "const PORTAL_BRIDGE_SUB      = 'portal_sub';" in text
