"""The representation layer on the shapes real servers send: XML and JSON, v12 and v13, quirks."""

from __future__ import annotations

import random

import pytest

from veeam_em_mcp.errors import MalformedResponse
from veeam_em_mcp.models.base import _parse_timestamp, canonical_timestamp, parse_timestamp
from veeam_em_mcp.models.resources import BackupFile, EntityRef, EntityReferences, RestorePoint, VmRestorePoint
from veeam_em_mcp.representation import parse
from veeam_em_mcp.representation.parse import snake
from veeam_em_mcp.representation.registry import to_resource
from veeam_em_mcp.text import UNSAFE_IN_TEXT, needs_cleaning

GUID = "6c958531-3177-4055-b0ce-dc4ef1ce6433"
HREF = f"https://enterprise04.tech.local:9398/api/vmRestorePoints/{GUID}"

# The 13.1 docs' capture (reference §2.3 a), with the real attribute order and namespaces.
XML_ENTITY = f"""<?xml version="1.0" encoding="utf-8"?>
<VmRestorePoint xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" Href="{HREF}?format=Entity" Type="VmRestorePoint" Name="ubuntu88@2025-10-20 20:04:07" UID="urn:veeam:VmRestorePoint:{GUID}" VmDisplayName="ubuntu88" xmlns="http://www.veeam.com/ent/v1.0">
  <Links>
    <Link Href="{HREF}?action=restore" Rel="Restore" />
    <Link Href="https://enterprise04.tech.local:9398/api/backupServers/a490c017-2c1c-40ee-8bcf-73bcce6ab36f" Name="enterprise01.tech.local" Type="BackupServerReference" Rel="Up" />
    <Link Href="https://enterprise04.tech.local:9398/api/restorePoints/588d2507-4b4b-4b55-a851-3de77114fbf2" Name="Oct 20 2025  8:00PM" Type="RestorePointReference" Rel="Up" />
    <Link Href="https://enterprise04.tech.local:9398/api/backupFiles/071bd77e-c00c-479a-a378-19c3a0c39c80" Name="Backup Job 3D2025-10-20T220020_159E.vib" Type="BackupFileReference" Rel="Up" />
    <Link Href="{HREF}" Name="ubuntu88@2025-10-20 20:04:07" Type="VmRestorePointReference" Rel="Alternate" />
    <Link Href="{HREF}/mounts" Type="VmRestorePointMountList" Rel="Down" />
    <Link Href="{HREF}/mounts" Type="VmRestorePointMount" Rel="Create" />
  </Links>
  <CreationTimeUTC>2025-10-20T20:04:07.267Z</CreationTimeUTC>
  <VmName>ubuntu88</VmName>
  <Algorithm>Incremental</Algorithm>
  <PointType>Increment</PointType>
  <HierarchyObjRef>urn:VMware:Vm:d68c782f-ec0a-4bf3-b3c1-04c552b64fdf.vm-85541</HierarchyObjRef>
</VmRestorePoint>"""

# The 13.0 docs' Hyper-V sample: docs attribute order, no VmName, no VmDisplayName.
XML_HYPERV_NO_VMNAME = f"""<VmRestorePoint xmlns="http://www.veeam.com/ent/v1.0" Type="VmRestorePoint" Href="{HREF}?format=Entity" Name="oracle03@2016-10-06 13:59:50" UID="urn:veeam:VmRestorePoint:{GUID}">
  <Links>
    <Link Rel="Up" Type="BackupServerReference" Href="https://localhost:9398/api/backupServers/00fd67d9-2b4c-4c56-8a95-0b3dbec7ae43" Name="172.17.53.1" />
  </Links>
  <CreationTimeUTC>2016-10-06T13:59:50.783Z</CreationTimeUTC>
  <Algorithm>Incremental</Algorithm>
  <PointType>Increment</PointType>
  <HierarchyObjRef>urn:HyperV:Vm:757baa80-d19b-4607-a592-98e15d45d9b2.e3e47ce3-ace6-4f06-9aaf-f52cf2e11234</HierarchyObjRef>
</VmRestorePoint>"""

JSON_V12 = (
    '{"CreationTimeUTC":"2025-10-20T20:04:07.267Z","VmName":"ubuntu88","Algorithm":"Incremental",'
    '"PointType":"Increment","HierarchyObjRef":"urn:VMware:Vm:d68c782f-ec0a-4bf3-b3c1-04c552b64fdf.vm-85541",'
    '"VmDisplayName":"ubuntu88","Name":"ubuntu88@2025-10-20 20:04:07",'
    f'"UID":"urn:veeam:VmRestorePoint:{GUID}","Links":[{{"Rel":"Up","Href":"{HREF}x","Type":"BackupServerReference"}}],'
    f'"Href":"{HREF}?format\\u003dEntity","Type":"VmRestorePoint"}}'
)

JSON_V13_CAMEL = (
    '{"creationTimeUtc":"2025-10-20T20:04:07.2679931Z","vmName":"ubuntu88","algorithm":"Full",'
    '"pointType":"Full","hierarchyObjRef":"urn:vCloud:Vm:d68c782f.urn:vcloud:vm:1234",'
    f'"name":"ubuntu88@2025-10-20 20:04:07","uid":"urn:veeam:VmRestorePoint:{GUID}",'
    f'"links":[{{"rel":"Up","href":"{HREF}x","name":null}}],"href":"{HREF}?format=Entity","type":"VmRestorePoint"}}'
)


def test_xml_entity_from_real_capture() -> None:
    point = to_resource(parse(XML_ENTITY.encode(), "application/xml; charset=utf-8"))
    assert isinstance(point, VmRestorePoint)
    assert point.id == GUID
    assert point.uid is None and point.href is None, "both are derivable from the id"
    assert point.vm_name == "ubuntu88" and point.vm_display_name is None, "the display name repeats the VM name"
    assert point.name is None, "the name is <vm>@<creation time>"
    assert point.creation_time == "2025-10-20T20:04:07.267Z"
    assert (point.algorithm, point.point_type, point.platform) == ("Incremental", "Increment", "VMware")
    # The seven links: three Up links by what they lead to, Restore and Create as actions, the mounts list,
    # and the Alternate link (this point itself) left out.
    assert point.backup_server is not None and point.backup_server.name == "enterprise01.tech.local"
    assert point.backup_server.href.endswith("/api/backupServers/a490c017-2c1c-40ee-8bcf-73bcce6ab36f")
    assert point.restore_point is not None and point.restore_point.name == "Oct 20 2025  8:00PM"
    assert point.backup_file is not None and point.backup_file.name == "Backup Job 3D2025-10-20T220020_159E.vib"
    assert point.actions == ["Restore", "Create mount"]
    assert point.collections == {"mounts": f"{HREF}/mounts"}
    assert point.other_links is None


def test_xml_with_bom_and_without_vm_name() -> None:
    body = b"\xef\xbb\xbf" + XML_HYPERV_NO_VMNAME.encode()
    point = to_resource(parse(body, "application/xml"))
    assert isinstance(point, VmRestorePoint)
    assert point.vm_name is None
    assert point.vm_display_name is None
    assert point.platform == "HyperV"
    assert point.name == "oracle03@2016-10-06 13:59:50", "without a VM name, the name is the only one"
    assert point.backup_server is not None and point.backup_server.name == "172.17.53.1"  # a single <Link>


@pytest.mark.parametrize("body", [JSON_V12, "\ufeff" + JSON_V12])
def test_json_pascal_case_with_and_without_bom(body: str) -> None:
    point = to_resource(parse(body.encode(), "application/json; charset=utf-8"), "VmRestorePoint")
    assert isinstance(point, VmRestorePoint)
    assert point.href is None, "the canonical href (with ?format\\u003dEntity decoded) is derivable"
    assert point.vm_name == "ubuntu88"
    # A link whose path names nothing known is kept exactly as EM sent it.
    assert point.other_links is not None and point.other_links[0].type == "BackupServerReference"


def test_json_v13_camel_case_and_creation_time_utc_spelling() -> None:
    point = to_resource(parse(JSON_V13_CAMEL.encode(), "application/json"), "VmRestorePoint")
    assert isinstance(point, VmRestorePoint)
    assert point.creation_time == "2025-10-20T20:04:07.2679931Z"  # all 7 digits kept
    assert point.platform == "vCloud"
    assert point.other_links is not None and point.other_links[0].name is None


def test_xml_and_json_give_the_same_model() -> None:
    from_xml = to_resource(parse(XML_ENTITY.encode(), "application/xml"))
    assert isinstance(from_xml, VmRestorePoint)
    from_json = to_resource(parse(JSON_V12.encode(), "application/json"), "VmRestorePoint")
    assert isinstance(from_json, VmRestorePoint)
    for field in ("id", "uid", "name", "vm_name", "creation_time", "algorithm", "point_type", "platform"):
        assert getattr(from_xml, field) == getattr(from_json, field), field


def test_backup_file_reads_creation_time_utc_lower_case() -> None:
    xml = b"""<BackupFile xmlns="http://www.veeam.com/ent/v1.0" Type="BackupFile" Href="https://h/api/backupFiles/6ed26dc7-cc9e-4a89-9226-1ed9996fb1f4?format=Entity" Name="a.vbk" UID="urn:veeam:BackupFile:6ed26dc7-cc9e-4a89-9226-1ed9996fb1f4">
      <Links><Link Rel="Up" Type="BackupReference" Href="https://h/api/backups/80672bda-76a8-408b-947f-afd0ff67fba6" Name="B" /></Links>
      <FilePath>C:\\BackupVol02\\a.vbk</FilePath><BackupSize>31608832</BackupSize><DataSize>42949683607</DataSize>
      <DeduplicationRatio>0</DeduplicationRatio><CompressRatio>1.5</CompressRatio>
      <CreationTimeUtc>2016-09-19T21:00:00Z</CreationTimeUtc><FileType>vbk</FileType></BackupFile>"""
    backup_file = to_resource(parse(xml))
    assert isinstance(backup_file, BackupFile)
    assert backup_file.creation_time == "2016-09-19T21:00:00Z"
    assert backup_file.backup_size == 31608832 and backup_file.data_size == 42949683607
    assert backup_file.compress_ratio == 1.5 and backup_file.file_type == "vbk"


def test_restore_point_with_mislabelled_related_link() -> None:
    xml = b"""<RestorePoint xmlns="http://www.veeam.com/ent/v1.0" Type="RestorePoint" Href="https://h/api/restorePoints/e729979a-fcc2-4880-a420-9291ba64aa2a?format=Entity" Name="Sep 20 2016  2:59PM" UID="urn:veeam:RestorePoint:e729979a-fcc2-4880-a420-9291ba64aa2a">
      <Links><Link Rel="Related" Type="RestorePointReferenceList" Href="https://h/api/restorePoints/e729979a-fcc2-4880-a420-9291ba64aa2a/backupFiles" /></Links>
      <BackupDateUTC>2016-09-20T14:59:02.777Z</BackupDateUTC></RestorePoint>"""
    point = to_resource(parse(xml))
    assert isinstance(point, RestorePoint)
    assert point.backup_date == "2016-09-20T14:59:02.777Z"
    assert point.name == "Sep 20 2016  2:59PM"  # EM's double spaces kept verbatim


def test_references_xml_and_json_shapes() -> None:
    xml = f"""<EntityReferences xmlns="http://www.veeam.com/ent/v1.0"><Ref Type="VmRestorePointReference" Href="{HREF}" Name="n" UID="urn:veeam:VmRestorePoint:{GUID}"><Links><Link Rel="Alternate" Type="VmRestorePoint" Href="{HREF}?format=Entity" /></Links></Ref></EntityReferences>"""
    refs = to_resource(parse(xml.encode()))
    assert isinstance(refs, EntityReferences) and len(refs.refs) == 1
    assert refs.refs[0].id == GUID
    for body in (
        f'{{"Refs":[{{"UID":"urn:veeam:VmRestorePoint:{GUID}","Name":"n","Href":"{HREF}","Type":"VmRestorePointReference"}}]}}',
        f'{{"Refs":{{"Refs":[{{"UID":"urn:veeam:VmRestorePoint:{GUID}","Name":"n","Href":"{HREF}","Type":"VmRestorePointReference"}}]}}}}',
    ):
        refs = to_resource(parse(body.encode(), "application/json"))
        assert isinstance(refs, EntityReferences) and refs.refs[0].name == "n"


def test_reference_form_is_a_reference_not_an_entity() -> None:
    xml = f"""<EntityRef xmlns="http://www.veeam.com/ent/v1.0" Type="VmRestorePointReference" Href="{HREF}" Name="n" UID="urn:veeam:VmRestorePoint:{GUID}"><Links><Link Rel="Alternate" Type="VmRestorePoint" Href="{HREF}?format=Entity" /></Links></EntityRef>"""
    assert isinstance(to_resource(parse(xml.encode()), "VmRestorePoint"), EntityRef)


def test_query_result_same_name_wrappers_normalise_alike() -> None:
    xml = b"""<QueryResult xmlns="http://www.veeam.com/ent/v1.0"><Entities><VmRestorePoints><VmRestorePoint Name="a" /></VmRestorePoints></Entities>
      <PagingInfo PageNum="1" PageSize="100" PagesCount="1"><Links><Link Rel="First" Href="https://h/api/query?type=VmRestorePoint&amp;page=1" /></Links></PagingInfo></QueryResult>"""
    json_body = b'{"Entities":{"VmRestorePoints":{"VmRestorePoints":[{"Name":"a"}]}},"PagingInfo":{"PageNum":1,"PageSize":100,"PagesCount":1,"Links":[{"Rel":"First","Href":"https://h/api/query?type=VmRestorePoint&page=1"}]}}'
    from_xml, from_json = parse(xml).data, parse(json_body, "application/json").data
    assert from_xml["entities"]["vm_restore_points"] == from_json["entities"]["vm_restore_points"] == [{"name": "a"}]
    assert from_xml["paging_info"]["links"][0]["href"].endswith("&page=1")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2025-12-07T11:48:39Z", "2025-12-07T11:48:39Z"),
        ("2016-10-06T13:59:50.783Z", "2016-10-06T13:59:50.783Z"),
        ("2023-11-03T16:26:12.209913Z", "2023-11-03T16:26:12.209913Z"),
        ("2025-10-20T20:04:07.2679931Z", "2025-10-20T20:04:07.2679931Z"),
        ("2025-10-20T20:04:07.1", "2025-10-20T20:04:07.1Z"),  # no offset: UTC
        ("2025-10-20T22:04:07.5+02:00", "2025-10-20T20:04:07.5Z"),
    ],
)
def test_timestamps_keep_precision_and_mean_utc(text: str, canonical: str) -> None:
    assert canonical_timestamp(text) == canonical
    assert parse_timestamp(text).utcoffset() is not None


@pytest.mark.parametrize(
    "text",
    [
        "2025-12-07T11:48:39Z",
        "2016-10-06T13:59:50.783Z",
        "2025-10-20T20:04:07.2679931Z",  # a 7th digit (.NET ticks): cut, not rounded
        "2025-10-20T20:04:07.9999999Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "2025-10-20T22:04:07.5+02:00",
        "2025-10-20 20:04:07",
        "\u0662\u0660\u0662\u0665-10-20T20:04:07Z",  # digits that are not ASCII: the general reading
    ],
)
def test_the_canonical_timestamps_quick_reading_is_the_general_one(text: str) -> None:
    assert parse_timestamp(text) == _parse_timestamp(text)
    assert parse_timestamp(text).utcoffset() is not None


@pytest.mark.parametrize("text", ["2025-02-30T10:00:00Z", "2025-10-20T24:00:00Z", "2025-10-20T23:59:60Z", "soon"])
def test_an_impossible_timestamp_is_a_value_error_either_way(text: str) -> None:
    with pytest.raises(ValueError):
        parse_timestamp(text)
    with pytest.raises(ValueError):
        _parse_timestamp(text)


def test_snake_case_folds_both_casings() -> None:
    assert snake("CreationTimeUTC") == snake("creationTimeUtc") == snake("CreationTimeUtc") == "creation_time_utc"
    assert snake("UID") == snake("uid") == "uid"
    assert snake("HierarchyObjRef") == snake("hierarchyObjRef") == "hierarchy_obj_ref"


@pytest.mark.parametrize(
    "body",
    [
        b"<VmRestorePoint><Links>",
        b'{"Name": ',
        b"",
        b"\xff\xfe<x/>",
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><VmRestorePoint Name="&lol2;"/>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><VmRestorePoint Name="&xxe;"/>',
        b"<html><body>Sign in</body></html>",
    ],
)
def test_malformed_bodies_raise_a_clear_error(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        parse(body)


def test_control_and_bidi_characters_are_removed_from_em_text() -> None:
    xml = '<EntityRef Name="evil\u202egnp.exe" Href="https://h/api/x" Type="XReference" />'.encode()
    ref = to_resource(parse(xml))
    assert isinstance(ref, EntityRef) and ref.name == "evilgnp.exe"
    body = b'{"Name":"db\\u0007\\u001b[31m01\\u2066","Href":"https://h/api/x","Type":"XReference"}'
    ref = to_resource(parse(body, "application/json"))
    assert isinstance(ref, EntityRef) and ref.name == "db[31m01"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('<EntityRef Name="evil&#x202E;gnp.exe" Href="https://h/api/x" Type="XReference" />', "application/xml"),
        ("<EntityRef Href='https://h/api/x' Type='XReference'><Name>evil&#8238;gnp.exe</Name></EntityRef>", ""),
        ('{"Name":"evil\\u202egnp.exe","Href":"https://h/api/x","Type":"XReference"}', "application/json"),
        ('{"Name":"evil\u202egnp.exe","Href":"https://h/api/x","Type":"XReference"}', "application/json"),
    ],
)
def test_unsafe_characters_are_removed_however_the_body_writes_them(body: str, content_type: str) -> None:
    # The parser searches a whole body once and cleans its strings only when it may hold such a character:
    # written as itself, or as an XML character reference or a JSON escape that decodes to one.
    ref = to_resource(parse(body.encode(), content_type))
    assert isinstance(ref, EntityRef) and ref.name == "evilgnp.exe"



def _needs_cleaning_plainly(body: str) -> bool:
    """The definition ``needs_cleaning`` computes quickly: an unsafe character, a reference or an escape."""
    return UNSAFE_IN_TEXT.search(body) is not None or "&#" in body or "\\u" in body


def test_the_quick_search_for_what_needs_cleaning_agrees_with_its_definition() -> None:
    # The pairs are found by a find per occurrence of their first character, then (past a few dozen of them)
    # by one search from there: bodies with few and with many backslashes and ampersands, the pair early,
    # late, at the very end, split, or only after the look-ahead gives up; as text and as EM's bytes.
    rng = random.Random(21)
    parts = ["a", "u", "\\", "\\\\", "&", "#", "&amp;", '\\"', "\u00e9", "\u202e", "\x07", "{}", " "]
    bodies = ["", "\\", "&", "\\u", "&#", "x\\", "x&", "\\" * 40 + "u", "\\ " * 40 + "\\u", "& " * 40 + "&#"]
    bodies += ["".join(rng.choice(parts) for _ in range(rng.randrange(1, 200))) for _ in range(3000)]
    for body in bodies:
        expected = _needs_cleaning_plainly(body)
        assert needs_cleaning(body) is expected, body
        assert needs_cleaning(body.encode()) is expected, body

# The reference's D131 sample of a replica point (its Failover/mount links left out): the replica VM's name, no
# HierarchyObjRef; and a v13 JSON one naming the source VM with the doc table's spelling PoinType (sic).
XML_REPLICA_POINT = """<?xml version="1.0" encoding="utf-8"?>
<VmReplicaPoint Href="https://localhost:9398/api/vmReplicaPoints/7bd7de06-ec7c-4067-b10b-081e4a69ccc3?format=Entity"
 Type="VmReplicaPoint" Name="apache_replica@2025-10-18 20:00:30"
 UID="urn:veeam:VmReplicaPoint:7bd7de06-ec7c-4067-b10b-081e4a69ccc3" VmDisplayName="apache_replica"
 xmlns="http://www.veeam.com/ent/v1.0">
  <Links>
    <Link Href="https://localhost:9398/api/backupServers/a490c017-2c1c-40ee-8bcf-73bcce6ab36f"
     Name="enterprise01.tech.local" Type="BackupServerReference" Rel="Up" />
    <Link Href="https://localhost:9398/api/replicas/f8864ea3-8ddf-45b3-b81b-6d95b58a7d9b" Name="Replication Job 1"
     Type="ReplicaReference" Rel="Up" />
  </Links>
  <CreationTimeUTC>2025-10-18T20:00:30.423Z</CreationTimeUTC>
  <VmName>apache_replica</VmName>
  <Algorithm>Full</Algorithm>
  <PointType>Snapshot</PointType>
</VmReplicaPoint>"""
JSON_V13_REPLICA_POINT = """{"href": "https://localhost:9398/api/vmReplicaPoints/7bd7de06-ec7c-4067-b10b-081e4a69ccc3",
 "type": "VmReplicaPoint", "name": "apache@2025-10-18 20:00:30", "vmDisplayName": "apache",
 "uid": "urn:veeam:VmReplicaPoint:7bd7de06-ec7c-4067-b10b-081e4a69ccc3",
 "links": [{"href": "https://localhost:9398/api/replicas/f8864ea3-8ddf-45b3-b81b-6d95b58a7d9b",
            "name": "Replication Job 1", "type": "ReplicaReference", "rel": "Up"}],
 "creationTimeUTC": "2025-10-18T20:00:30.423Z", "vmName": "apache", "algorithm": "Full", "poinType": "Snapshot"}"""


def test_replica_points_in_both_namings_belong_to_the_member_of_their_job() -> None:
    from veeam_em_mcp.models.resources import JobInclude, VmReplicaPoint
    from veeam_em_mcp.services.replicas import _member

    from_xml = to_resource(parse(XML_REPLICA_POINT.encode(), "application/xml"))
    from_json = to_resource(parse(JSON_V13_REPLICA_POINT.encode(), "application/json"), "VmReplicaPoint")
    assert isinstance(from_xml, VmReplicaPoint) and isinstance(from_json, VmReplicaPoint)
    assert from_xml.id == from_json.id == "7bd7de06-ec7c-4067-b10b-081e4a69ccc3"
    assert (from_xml.vm_name, from_json.vm_name) == ("apache_replica", "apache")
    assert from_xml.point_type == from_json.point_type == "Snapshot"
    assert from_xml.creation_time == from_json.creation_time
    assert from_xml.replica is not None and from_xml.replica.name == "Replication Job 1"
    assert from_xml.backup_server is not None and from_xml.backup_server.name == "enterprise01.tech.local"
    apache = JobInclude(name="Apache", hierarchy_obj_ref="urn:VMware:Vm:vc01.vm-7", object_type="Vm")
    members = {"apache": [(apache.hierarchy_obj_ref, "Apache")], "apache2": [("urn:VMware:Vm:vc01.vm-8", "apache2")]}
    assert _member(members, from_xml) == _member(members, from_json) == ("urn:VMware:Vm:vc01.vm-7", "Apache")
    # Two members of one name in one job: which one a point is cannot be told, so it is none of them.
    assert _member({"apache": [("urn:a", "apache"), ("urn:b", "apache")]}, from_xml) is None
