// Texts of the kiosk screens (ru, kk, en).
export default { en: {}, ru: {}, kk: {} };
