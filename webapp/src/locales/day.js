// Texts of the day screens (ru, kk, en).
export default { en: {}, ru: {}, kk: {} };
