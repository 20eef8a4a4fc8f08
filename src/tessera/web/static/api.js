// The one way pages talk to the API: JSON in and out, the CSRF token on unsafe methods.
let csrfToken = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  if (data && data.csrf_token) csrfToken = data.csrf_token;
  return data;
}

export async function currentUser() {
  try {
    return (await api("GET", "/api/auth/me")).user;
  } catch (error) {
    if (error.status === 401 || error.status === 403) return null;
    throw error;
  }
}

// The signed-in user, shown in the page's header; null after sending the browser to the sign-in page.
export async function signedIn() {
  const user = await currentUser();
  if (!user) {
    window.location.assign("/sign-in");
    return null;
  }
  document.getElementById("who").textContent = `${user.display_name} (${user.workspace_role})`;
  return user;
}

// Files as multipart/form-data, with upload progress: `onProgress(bytesSent)` as the body goes out
// (fetch cannot report it). Resolves with the JSON answer; an HTTP error rejects with ApiError.
export function upload(path, files, onProgress) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.webkitRelativePath || file.name);
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("Accept", "application/json");
    if (csrfToken) request.setRequestHeader("X-CSRF-Token", csrfToken);
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onload = () => {
      let data = null;
      try { data = JSON.parse(request.responseText); } catch { data = null; }
      if (request.status >= 200 && request.status < 300) resolve(data);
      else reject(new ApiError(request.status, data));
    };
    request.onerror = () => reject(new Error("the connection failed during the upload"));
    request.send(form);
  });
}
