// Texts of the clients screens (ru, kk, en).
export default { en: {}, ru: {}, kk: {} };
