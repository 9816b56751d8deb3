// Certificate and phone checks, mirroring protocol/certificates.py so a wrong check digit shows while typing.
// The server checks again on save; both give the same message (catalog keys "cert.<key>" = certificates.MESSAGES).
// Each check returns null for a valid value or the key of the message.

export const CERT_TYPES = ["resident_id", "credit_code", "passport", "hk_macao_permit", "other"];

// GB 11643-1999: ISO 7064 MOD 11-2 over the first 17 digits.
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = "10X98765432";
const ID_SHAPE = /^[0-9]{17}[0-9X]$/;
const ID_EARLIEST_BIRTH = "18500101";
// GB 32100-2015: 31 characters, without I O Z S V.
const CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
const MOBILE = /^(?:\+?86)?1[3-9][0-9]{9}$/;
const LANDLINE = /^0[0-9]{2,3}-?[0-9]{7,8}(?:(?:-|\u8f6c|#)[0-9]{1,6})?$/; // \u8f6c: "extension" as typed in Chinese
const PASSPORT = /^[A-Z0-9]{5,17}$/;
const HK_MACAO_PERMIT = /^[HM](?:[0-9]{8}|[0-9]{10})$/;
const OTHER_MAX_CHARS = 40;

const length = (s) => [...s].length;

export function normalise(certType, number) {
  const folded = String(number).normalize("NFKC").trim().toUpperCase();
  return certType === "other" ? folded : folded.replace(/\s+/g, "");
}

export function residentIdCheckChar(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i];
  return ID_CHECK[sum % 11];
}

export function creditCodeCheckChar(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += CREDIT_CHARSET.indexOf(first17[i]) * CREDIT_WEIGHTS[i];
  return CREDIT_CHARSET[(31 - (sum % 31)) % 31];
}

function isRealDate(y, m, d) {
  const when = new Date(Date.UTC(y, m - 1, d));
  return y >= 1 && when.getUTCFullYear() === y && when.getUTCMonth() === m - 1 && when.getUTCDate() === d;
}

function todayDigits() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}`;
}

export function checkResidentId(value, today = todayDigits()) {
  const s = normalise("resident_id", value);
  if (length(s) !== 18) return "resident_id.length";
  if (!ID_SHAPE.test(s)) return "resident_id.characters";
  const birth = s.slice(6, 14);
  if (!isRealDate(Number(birth.slice(0, 4)), Number(birth.slice(4, 6)), Number(birth.slice(6, 8)))) {
    return "resident_id.birth_date";
  }
  if (birth < ID_EARLIEST_BIRTH) return "resident_id.birth_date";
  if (birth > today) return "resident_id.birth_future";
  if (residentIdCheckChar(s.slice(0, 17)) !== s[17]) return "resident_id.check_digit";
  return null;
}

export function checkCreditCode(value) {
  const s = normalise("credit_code", value);
  if (length(s) !== 18) return "credit_code.length";
  if ([...s].some((c) => !CREDIT_CHARSET.includes(c))) return "credit_code.characters";
  if (creditCodeCheckChar(s.slice(0, 17)) !== s[17]) return "credit_code.check_digit";
  return null;
}

export function checkPhone(value) {
  const s = String(value).normalize("NFKC").replace(/\s+/g, "");
  return MOBILE.test(s) || LANDLINE.test(s) ? null : "phone.format";
}

export function checkCertificate(certType, number, today) {
  const n = normalise(certType, number);
  switch (certType) {
    case "resident_id": return checkResidentId(n, today);
    case "credit_code": return checkCreditCode(n);
    case "passport": return PASSPORT.test(n) ? null : "passport.format";
    case "hk_macao_permit": return HK_MACAO_PERMIT.test(n) ? null : "hk_macao_permit.format";
    case "other":
      if (!n) return "other.empty";
      return length(n) <= OTHER_MAX_CHARS ? null : "other.length";
    default: return "cert_type.unknown";
  }
}

// How many characters a complete number of this type has, so the page can check as soon as the last one is typed.
export const FULL_LENGTH = { resident_id: 18, credit_code: 18 };
