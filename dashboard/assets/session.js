// A callback answered 401: the session ended (expired, signed out elsewhere, user disabled).
// Go to the sign-in page, which brings the user back here afterwards, instead of leaving a page
// whose numbers silently stop updating.
(function () {
  var fetchOriginal = window.fetch;
  window.fetch = function () {
    return fetchOriginal.apply(this, arguments).then(function (response) {
      if (response.status === 401 && window.location.pathname !== "/signin") {
        var here = window.location.pathname + window.location.search;
        window.location.assign("/signin?next=" + encodeURIComponent(here));
      }
      return response;
    });
  };
})();
