// Texts of the manage screens (ru, kk, en).
export default { en: {}, ru: {}, kk: {} };
