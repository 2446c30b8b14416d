"""moto's server (`moto_server`), with two changes:
- the list of moto's service modules, which moto reads from its package
  directory on every request (`list_of_moto_modules`, a directory listing
  and a stat per entry), is read once at start. It is the same list for the
  server's lifetime, and the listing was 8 % of moto's CPU time in the
  year-long simulation;
- with REMPART_MOTO_REQUEST_LOG=0, werkzeug's line per request is not
  written (9 % of moto's CPU time in the simulation, py-spy, 2026-12-03;
  its 55,000 lines help no one). Errors and moto's own messages still are;
- a snapshot shared with another account can be copied from there, as in
  AWS (moto 5.1.22 looks a source snapshot up in the caller's own account
  only, whatever its ARN says): an RDS or Aurora snapshot ARN of another
  account resolves there when its `restore` attribute names the caller's
  account (or `all`), and EBS's CopySnapshot finds a snapshot of another
  account whose createVolumePermission names the caller's account (or
  the group `all`). A snapshot not shared stays not found, as in AWS.
  Rempart's air-gapped (vault) copies rest on this; tests/tests/vault.rs
  says so;
- an EBS snapshot of an encrypted volume is under the volume's key, as in
  AWS (moto 5.1.22 reports no KmsKeyId for it): the vault copies choose
  between sharing it and staging it by that key;
- an object made by CompleteMultipartUpload in a bucket with an Object
  Lock default retention is locked by it, as in AWS (moto 5.1.22 locks
  only PutObject's objects; a multipart object came out unlocked). The
  lock headers of CreateMultipartUpload are not carried over: the bucket's
  default applies. The vault's Redis copies (tests/tests/vault.rs) rest on
  this.
"""
import logging
import os
import re
import sys

import moto.backends as backends

_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: iter(_modules)

from moto.server import main  # noqa: E402


def _shared_snapshots():
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_block_store import EBSBackend
    from moto.rds.models import RDSBackend, rds_backends

    own_lookup = RDSBackend.get_snapshot

    def get_snapshot(self, identifier, resource_type, not_found_exception):
        parts = identifier.split(":")
        if identifier.startswith("arn:") and len(parts) >= 7 and parts[4] != self.account_id:
            region, owner, name = parts[3], parts[4], parts[-1]
            backend = rds_backends.get(owner, {}).get(region)
            snapshot = backend.resource_map[resource_type].get(name) if backend else None
            shared = snapshot is not None and (
                self.account_id in snapshot.attributes.get("restore", [])
                or "all" in snapshot.attributes.get("restore", [])
            )
            if not shared:
                raise not_found_exception(identifier)
            return snapshot
        return own_lookup(self, identifier, resource_type, not_found_exception)

    RDSBackend.get_snapshot = get_snapshot

    own_copy = EBSBackend.copy_snapshot

    def copy_snapshot(self, source_snapshot_id, source_region, description, kms_key_id):
        own = ec2_backends[self.account_id][source_region]
        if source_snapshot_id in own.snapshots:
            return own_copy(self, source_snapshot_id, source_region, description, kms_key_id)
        for owner, regions in ec2_backends.items():
            other = regions.get(source_region) if owner != self.account_id else None
            source = other.snapshots.get(source_snapshot_id) if other else None
            if source is not None and (
                self.account_id in source.create_volume_permission_userids
                or "all" in source.create_volume_permission_groups
            ):
                from moto.ec2.models.elastic_block_store import Snapshot
                from moto.ec2.utils import random_snapshot_id

                snapshot = Snapshot(
                    self,
                    random_snapshot_id(),
                    volume=source.volume,
                    description=description,
                    encrypted=source.encrypted,
                    kms_key_id=kms_key_id,
                )
                self.snapshots[snapshot.id] = snapshot
                return snapshot
        return own_copy(self, source_snapshot_id, source_region, description, kms_key_id)

    EBSBackend.copy_snapshot = copy_snapshot

    own_create = EBSBackend.create_snapshot

    def create_snapshot(self, volume_id, *args, **kwargs):
        snapshot = own_create(self, volume_id, *args, **kwargs)
        if snapshot.kms_key_id is None and snapshot.volume is not None:
            snapshot.kms_key_id = getattr(snapshot.volume, "kms_key_id", None)
        return snapshot

    EBSBackend.create_snapshot = create_snapshot


_shared_snapshots()


def _multipart_lock():
    from moto.s3.models import S3Backend

    own_complete = S3Backend.complete_multipart_upload

    def complete_multipart_upload(self, bucket_name, multipart_id, body):
        key = own_complete(self, bucket_name, multipart_id, body)
        bucket = self.get_bucket(bucket_name)
        if key is not None and not key.lock_mode and bucket.has_default_lock:
            key.lock_mode = bucket.default_lock_mode
            key.lock_until = bucket.default_retention()
        return key

    S3Backend.complete_multipart_upload = complete_multipart_upload


_multipart_lock()

if os.environ.get("REMPART_MOTO_REQUEST_LOG") == "0":
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\.pyw|\.exe)?$", "", sys.argv[0])
    sys.exit(main())
