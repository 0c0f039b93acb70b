// Stand-in for @matrix-org/matrix-sdk-crypto-nodejs. matrix-bot-sdk imports these
// names at load time; roomcast never enables encryption, so any real use throws.
"use strict";
const unavailable = (name) =>
  class {
    constructor() {
      throw new Error(`end-to-end encryption not available in this roomcast build (${name})`);
    }
  };
const names = ["OlmMachine", "UserId", "DeviceId", "RoomId", "DeviceLists", "EncryptionSettings",
  "Attachment", "EncryptedAttachment", "KeysUploadRequest", "KeysQueryRequest", "KeysClaimRequest",
  "ToDeviceRequest", "SignatureUploadRequest", "RoomMessageRequest", "KeysBackupRequest",
  "StoreType", "Versions"];
for (const n of names) exports[n] = unavailable(n);
exports.RequestType = { KeysUpload: 0, KeysQuery: 1, KeysClaim: 2, ToDevice: 3, SignatureUpload: 4, RoomMessage: 5, KeysBackup: 6 };
exports.HistoryVisibility = { Invited: 0, Joined: 1, Shared: 2, WorldReadable: 3 };
exports.EncryptionAlgorithm = { OlmV1Curve25519AesSha2: 0, MegolmV1AesSha2: 1 };
exports.VerificationState = { Trusted: 0, Untrusted: 1, UnknownDevice: 2 };
exports.SignedCurve25519 = "signed_curve25519";
