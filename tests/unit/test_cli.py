"""`braze-adapter validate | test | map | schema`: output and exit codes of the CLI contract."""

import io
import json
import textwrap

from adapter.cli import main

RULES = textwrap.dedent("""\
    version: 1
    source: shop
    verify: {preset: none}
    rules:
      - id: welcome
        when: "{% type = 'signup' %}"
        campaign:
          campaign_id: c1
          recipient: {external_user_id: "{% user.id %}", trigger_properties: {plan: "{% user.plan %}"}}
    tests:
      - name: signup
        event: {type: signup, user: {id: u1, plan: pro}}
        expect:
          - path: /campaigns/trigger/send
            body: {campaign_id: c1, recipients: [{external_user_id: u1, trigger_properties: {plan: pro}}]}
    """)


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_validate_ok_and_problems(tmp_path, capsys):
    good = write(tmp_path, "shop.yaml", RULES)
    assert main(["validate", good]) == 0
    assert capsys.readouterr().out == f"{good}: ok (1 rules, 1 tests)\n"
    bad = write(tmp_path, "other.yaml", RULES.replace("campaign_id: c1", "campaign_idd: c1"))
    assert main(["validate", good, bad]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{good}: ok (1 rules, 1 tests)"
    assert f"{bad}:2: source: source 'shop' must equal the file name ('other')" in lines
    assert f"{bad}:8: rules[0].campaign.campaign_idd: unknown key 'campaign_idd' (did you mean 'campaign_id'?)" in lines


def test_validate_warns_when_an_hmac_timestamp_is_not_signed(tmp_path, capsys):
    verify = "verify: {preset: hmac, header: X-Sig, timestamp_header: X-Ts, secrets: ['env:S']}"
    path = write(tmp_path, "shop.yaml", RULES.replace("verify: {preset: none}", verify))
    assert main(["validate", path]) == 0  # a warning: some senders really sign only the body
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:3: verify.timestamp_header: warning: the timestamp is not signed (signed: body), so "
        "tolerance_seconds gives no replay protection; use signed: timestamp.body if the sender signs it",
        f"{path}: ok (1 rules, 1 tests)",
    ]


def test_validate_unreadable_file(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    assert "cannot read file" in capsys.readouterr().out


def test_test_passes_and_fails_with_a_diff(tmp_path, capsys):
    good = write(tmp_path, "shop.yaml", RULES)
    assert main(["test", good]) == 0
    assert capsys.readouterr().out == "1 passed, 0 failed\n"
    wrong = write(tmp_path, "shop.yaml", RULES.replace("plan: pro}}]}", "plan: free}}]}"))
    assert main(["test", wrong]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"FAIL {wrong}: signup\n")
    assert '-            "plan": "free"' in out and '+            "plan": "pro"' in out
    assert out.endswith("0 passed, 1 failed\n")


def test_map_prints_the_contract_and_keeps_going_after_a_bad_event(tmp_path, capsys):
    rules = write(tmp_path, "shop.yaml", RULES)
    good = write(tmp_path, "good.json", json.dumps({"type": "signup", "user": {"id": "u1", "plan": "pro"}}))
    broken = write(tmp_path, "broken.json", "{not json")
    missing = write(tmp_path, "missing.json", json.dumps({"type": "signup"}))
    code = main(["map", rules, good, broken, missing, "--received-at", "2026-11-23T00:00:00Z"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [r["body"] for r in out["requests"]] == [
        {"campaign_id": "c1", "recipients": [{"external_user_id": "u1", "trigger_properties": {"plan": "pro"}}]}
    ]
    assert len(out["requests"][0]["idempotency_keys"]) == 1
    assert [(e["event"], e["rule"]) for e in out["errors"]] == [(broken, None), (missing, "welcome")]
    assert "cannot read event" in out["errors"][0]["message"]


def test_map_reads_stdin_and_headers(tmp_path, capsys, monkeypatch):
    rules = write(
        tmp_path,
        "shop.yaml",
        RULES.replace('plan: "{% user.plan %}"', 'plan: "{% user.plan %}", shop: "{% $headers.\'x-shop\' %}"'),
    )
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"type":"signup","user":{"id":"u2"}}')))
    assert main(["map", rules, "-", "--header", "X-Shop: s1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["requests"][0]["body"]["recipients"] == [
        {"external_user_id": "u2", "trigger_properties": {"shop": "s1"}}
    ]
    assert out["skipped"] == [] and out["errors"] == []


def test_map_with_invalid_rules_or_header_exits_2(tmp_path, capsys):
    bad = write(tmp_path, "shop.yaml", RULES.replace("version: 1", "version: 3"))
    assert main(["map", bad, "x.json"]) == 2
    assert "version" in capsys.readouterr().err
    good = write(tmp_path, "shop.yaml", RULES)
    assert main(["map", good, "x.json", "--header", "no-colon"]) == 2


def test_schema_is_json_schema_of_rule_files(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"version", "source", "verify", "rules"} <= set(schema["required"])
    assert "Rule" in schema["$defs"] and "CampaignTemplate" in schema["$defs"]
