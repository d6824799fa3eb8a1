// Meshsmith studio: a single page over the native API (/v1). No framework, no build step.
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";

const KEY_STORAGE = "meshsmith.studio.key";
const MAX_BYTES = 20 * 1000 * 1000;
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/webp", "image/bmp"];
const SLOTS = ["front", "back", "left", "right"];
const OPTION_FIELDS = ["resolution", "faces", "texture_size", "format", "smart_low_poly",
                       "quad", "parts", "texture", "pbr"];

const $ = (sel) => document.querySelector(sel);
const files = {};  // slot -> File
// Test and debugging hook: the page's state.
const studio = { loaded: false, task: null, viewer: null, error: null };
window.studio = studio;

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  toString() { return this.code ? `${this.message} (code ${this.code})` : this.message; }
}

function authHeaders() {
  return { Authorization: `Bearer ${sessionStorage.getItem(KEY_STORAGE) || ""}` };
}

async function api(path, { method = "GET", json, form } = {}) {
  const headers = authHeaders();
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const response = await fetch(path, { method, headers, body });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code, err.message || `HTTP ${response.status}`);
  }
  return data;
}

function showError(el, err) {
  el.textContent = err ? String(err) : "";
}

// ---------------------------------------------------------------- sign-in

async function signIn(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
  try {
    await refreshBalance();
  } catch (err) {
    sessionStorage.removeItem(KEY_STORAGE);
    setSignedIn(false);
    showError($("#signin-error"), err);
    return;
  }
  showError($("#signin-error"), null);
  setSignedIn(true);
  await Promise.all([loadFormats(), loadHistory(), updateQuote()]);
}

function setSignedIn(on) {
  $("#studio").dataset.signedIn = String(on);
  $("#signout-button").hidden = !on;
  $("#signin-button").hidden = on;
  $("#api-key").disabled = on;
  // Signed out, the studio's panels can be neither clicked nor reached with the keyboard.
  document.querySelectorAll(".panel").forEach((panel) => { panel.inert = !on; });
  if (!on) $("#balance").textContent = "";
}

async function refreshBalance() {
  const b = await api("/v1/balance");
  $("#balance").textContent = `${b.balance} credits (${b.frozen} reserved)`;
}

async function loadFormats() {
  const { formats } = await fetch("/v1/formats").then((r) => r.json());
  const select = $("#format");
  select.replaceChildren(...formats.map((f) => new Option(`${f.name} (.${f.extension.replace(/^\./, "")})`, f.name)));
  select.value = "glb";
}

// ---------------------------------------------------------------- photos

function checkImage(file) {
  if (!IMAGE_TYPES.includes(file.type)) return `${file.name}: not a PNG, JPEG, WebP or BMP image`;
  if (file.size > MAX_BYTES) return `${file.name}: larger than 20 MB`;
  return null;
}

function setPhoto(zone, file) {
  const problem = checkImage(file);
  showError($("#views-error"), problem);
  if (problem) return;
  files[zone.dataset.slot] = file;
  const img = zone.querySelector("img");
  img.src = URL.createObjectURL(file);
  img.alt = `${zone.dataset.slot} photo: ${file.name}`;
  img.hidden = false;
  zone.querySelector(".drop-hint").textContent = file.name;
}

function wireDropZone(zone) {
  const input = zone.querySelector("input");
  input.addEventListener("change", () => input.files[0] && setPhoto(zone, input.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    if (e.dataTransfer.files[0]) setPhoto(zone, e.dataTransfer.files[0]);
  });
}

// ---------------------------------------------------------------- options, quote

function taskBody(views) {
  const form = $("#task-form");
  const checked = (name) => form.elements[name].checked;
  const format = form.elements.format.value;
  const body = {
    views, resolution: form.elements.resolution.value,
    texture: checked("texture"), pbr: checked("pbr"), quad: checked("quad"),
    smart_low_poly: checked("smart_low_poly"), parts: checked("parts"),
    texture_size: Number(form.elements.texture_size.value),
    // The viewer shows GLB only: another format also asks for a GLB.
    format: format === "glb" ? "glb" : [format, "glb"],
  };
  const faces = form.elements.faces.value.trim();
  if (faces) body.faces = Number(faces);
  return body;
}

function clearOptionErrors() {
  document.querySelectorAll("[data-error-for]").forEach((el) => showError(el, null));
}

// An API error goes next to the option its message names, else under the options.
function showOptionError(err) {
  const message = String(err.message).toLowerCase();
  const field = OPTION_FIELDS.find((f) => message.includes(f.replaceAll("_", " "))
                                          || message.includes(f)) || "options";
  const target = document.querySelector(`[data-error-for="${field}"]`)
    || document.querySelector('[data-error-for="options"]');
  showError(target, err);
}

let quoteSeq = 0;
async function updateQuote() {
  const seq = ++quoteSeq;
  try {
    const { cost } = await api("/v1/quote", { method: "POST", json: taskBody({ front: "x" }) });
    if (seq !== quoteSeq) return;
    clearOptionErrors();
    $("#cost").textContent = `${cost} credits`;
  } catch (err) {
    if (seq !== quoteSeq) return;
    clearOptionErrors();
    $("#cost").textContent = "";
    showOptionError(err);
  }
}

// ---------------------------------------------------------------- submit, progress

async function uploadViews() {
  const views = {};
  for (const slot of SLOTS.filter((s) => files[s])) {
    const form = new FormData();
    form.append("file", files[slot]);
    try {
      views[slot] = (await api("/v1/uploads", { method: "POST", form })).file_token;
    } catch (err) {
      err.message = `${slot}: ${err.message}`;
      throw Object.assign(err, { section: "views" });
    }
  }
  return views;
}

async function submitTask(event) {
  event.preventDefault();
  showError($("#submit-error"), null);
  showError($("#views-error"), null);
  if (!files.front) {
    showError($("#views-error"), "The front photo is required.");
    return;
  }
  $("#submit-button").disabled = true;
  try {
    const created = await api("/v1/tasks", { method: "POST", json: taskBody(await uploadViews()) });
    refreshBalance();
    await followTask(created.task_id);
  } catch (err) {
    reportSubmitError(err);
  } finally {
    $("#submit-button").disabled = false;
  }
}

function reportSubmitError(err) {
  if (err.section === "views" || /view|image|photo/i.test(err.message)) {
    showError($("#views-error"), err);
  } else if (err instanceof ApiError && err.status === 422) {
    showOptionError(err);
  } else {
    showError($("#submit-error"), err);
  }
}

function showProgress(status, stage, progress) {
  $("#progress-box").hidden = false;
  $("#stage").textContent = `${status}${stage ? `: ${stage}` : ""} (${progress}%)`;
  $("#progress").value = progress;
}

// Server-sent events read with fetch (EventSource cannot send the Authorization header).
async function followTask(taskId) {
  studio.loaded = false;
  showProgress("queued", null, 0);
  const response = await fetch(`/v1/tasks/${taskId}/events`, { headers: authHeaders() });
  if (!response.ok) throw new ApiError(response.status, null, `events: HTTP ${response.status}`);
  for await (const [name, data] of sseEvents(response.body)) {
    if (name === "progress") showProgress(data.status, data.stage, data.progress);
    if (name === "done") {
      showProgress(data.status, data.stage, data.progress);
      await showTask(data);
      refreshBalance();
      loadHistory();
    }
  }
}

async function* sseEvents(stream) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) yield event;
    }
  }
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  return data.length ? [name, JSON.parse(data.join("\n"))] : null;
}

// ---------------------------------------------------------------- result

async function showTask(task) {
  studio.task = task;
  studio.loaded = false;
  showError($("#result-error"), null);
  renderStats(task.stats);
  renderDownloads(task.outputs);
  const cover = $("#cover");
  cover.hidden = !(task.outputs && task.outputs.cover);
  if (!cover.hidden) cover.src = task.outputs.cover;
  if (task.status !== "success") {
    const e = task.error || {};
    showError($("#result-error"), e.message
      ? `${e.message} (code ${e.code})` : `The task is ${task.status}.`);
    return;
  }
  const glb = task.outputs.model.glb;
  if (!glb) return showError($("#result-error"), "This task has no GLB to show.");
  await loadModel(glb);
}

function renderStats(stats) {
  const rows = [];
  if (stats) {
    rows.push(["Faces", stats.faces], ["Vertices", stats.vertices],
              ["Watertight", stats.watertight ? "yes" : "no"]);
    if (stats.bounds) rows.push(["Size (bounds)", sizeText(stats.bounds)]);
  }
  $("#stats").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", k), el("dd", String(v))]));
}

function sizeText([lo, hi]) {
  return hi.map((h, i) => (h - lo[i]).toFixed(3)).join(" × ");
}

function renderDownloads(outputs) {
  const entries = Object.entries((outputs && outputs.files) || {});
  $("#downloads").replaceChildren(...entries.map(([name, url]) => {
    const a = el("a", name);
    a.href = url;
    a.download = name;
    return el("li", a);
  }));
}

function el(tag, child) {
  const node = document.createElement(tag);
  node.append(child);
  return node;
}

// ---------------------------------------------------------------- viewer

function makeViewer() {
  const box = $("#viewer");
  const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(window.devicePixelRatio);
  box.append(renderer.domElement);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xdfe3ea);
  const camera = new THREE.PerspectiveCamera(40, 4 / 3, 0.01, 1000);
  const ambient = new THREE.HemisphereLight(0xffffff, 0x666677, 1);
  const sun = new THREE.DirectionalLight(0xffffff, 2);
  sun.position.set(2, 3, 4);
  scene.add(ambient, sun);
  const controls = new OrbitControls(camera, renderer.domElement);
  const viewer = { renderer, scene, camera, controls, sun, ambient, model: null };
  viewer.render = () => renderer.render(scene, camera);
  controls.addEventListener("change", viewer.render);
  new ResizeObserver(() => resize(viewer)).observe(box);
  resize(viewer);
  return viewer;
}

function resize(viewer) {
  const { clientWidth: w, clientHeight: h } = viewer.renderer.domElement.parentElement;
  if (!w || !h) return;
  viewer.renderer.setSize(w, h, false);
  viewer.camera.aspect = w / h;
  viewer.camera.updateProjectionMatrix();
  viewer.render();
}

async function loadModel(url) {
  studio.viewer ||= makeViewer();
  const viewer = studio.viewer;
  try {
    const gltf = await new GLTFLoader().loadAsync(url);
    if (viewer.model) viewer.scene.remove(viewer.model);
    viewer.model = gltf.scene;
    viewer.scene.add(gltf.scene);
    frame(viewer, gltf.scene);
    applyViewerControls();
    studio.loaded = true;
  } catch (err) {
    studio.error = String(err);
    showError($("#result-error"), `The model could not be shown: ${err.message || err}`);
  }
}

function frame(viewer, object) {
  const box = new THREE.Box3().setFromObject(object);
  const center = box.getCenter(new THREE.Vector3());
  const radius = box.getSize(new THREE.Vector3()).length() / 2 || 1;
  viewer.controls.target.copy(center);
  viewer.camera.position.copy(center).add(new THREE.Vector3(0.6, 0.4, 1).normalize()
    .multiplyScalar(radius * 2.6));
  viewer.camera.near = radius / 100;
  viewer.camera.far = radius * 100;
  viewer.camera.updateProjectionMatrix();
  viewer.controls.update();
}

function applyViewerControls() {
  const viewer = studio.viewer;
  if (!viewer) return;
  const wire = $("#wireframe").checked;
  viewer.model?.traverse((o) => {
    for (const m of [].concat(o.material || [])) m.wireframe = wire;
  });
  const light = Number($("#light").value);
  viewer.sun.intensity = light;
  viewer.ambient.intensity = light / 2;
  viewer.render();
}

// ---------------------------------------------------------------- history

async function loadHistory() {
  try {
    const { items } = await api("/v1/tasks?limit=20");
    $("#history").replaceChildren(...items.map(historyItem));
    showError($("#history-error"), null);
  } catch (err) {
    showError($("#history-error"), err);
  }
}

function historyItem(task) {
  const button = document.createElement("button");
  button.type = "button";
  const cover = task.outputs && task.outputs.cover;
  const thumb = document.createElement(cover ? "img" : "span");
  if (cover) { thumb.src = cover; thumb.alt = ""; } else thumb.className = "placeholder";
  button.append(thumb, `${task.status} · ${task.created_at.slice(0, 16).replace("T", " ")}`);
  button.setAttribute("aria-label", `Open task ${task.task_id} (${task.status})`);
  button.addEventListener("click", () => reopen(task.task_id));
  return el("li", button);
}

async function reopen(taskId) {
  try {
    const task = await api(`/v1/tasks/${taskId}`);
    if (["queued", "running"].includes(task.status)) return await followTask(taskId);
    $("#progress-box").hidden = true;
    await showTask(task);
  } catch (err) {
    showError($("#history-error"), err);
  }
}

// ---------------------------------------------------------------- start-up

function start() {
  $("#signin").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("#api-key").value.trim());
  });
  $("#signout-button").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    setSignedIn(false);
  });
  document.querySelectorAll(".drop").forEach(wireDropZone);
  $("#task-form").addEventListener("change", (e) => {
    if (!e.target.closest(".views")) updateQuote();
  });
  $("#task-form").addEventListener("submit", submitTask);
  $("#wireframe").addEventListener("change", applyViewerControls);
  $("#light").addEventListener("input", applyViewerControls);
  $("#history-refresh").addEventListener("click", loadHistory);
  setSignedIn(false);
  const saved = sessionStorage.getItem(KEY_STORAGE);
  if (saved) signIn(saved);
  document.body.dataset.ready = "true";
}

start();
