// The front-desk web app's entry point (the real app replaces this skeleton).
document.getElementById('app').textContent = 'edgenode';
