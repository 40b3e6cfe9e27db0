// Task page: put the cursor on the first field that needs correcting.
(function () {
  const firstError = document.querySelector('.has-error input, .has-error select, .has-error textarea');
  if (firstError) firstError.focus();
})();
