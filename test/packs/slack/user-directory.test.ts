import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import { UserDirectory } from '../../../packs/slack/user-directory.ts';
import { type FakeSlack, startFakeSlack } from '../../fakes/slack/index.ts';

let fake: FakeSlack;
let web: WebClient;
before(async () => {
  fake = await startFakeSlack();
  fake.addUser({
    id: 'U1',
    name: 'ada',
    realName: 'Ada Lovelace',
    email: 'ada@example.com',
    title: 'Engineer',
    firstName: 'Ada',
    lastName: 'Lovelace',
    displayName: 'Ada',
  });
  web = new WebClient(fake.tokens.bot, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
});
after(async () => {
  await fake.close();
});

const lookups = () => fake.requests.filter((request) => request.method === 'users.info').length;

test('a user is looked up once per time to live, with the fields ReceivedMessage carries', async () => {
  let now = 0;
  const directory = new UserDirectory(web, { ttlMs: 1000, now: () => now });
  const before = lookups();
  const [first, second] = await Promise.all([directory.lookup('U1'), directory.lookup('U1')]);
  assert.deepEqual(first, {
    id: 'U1',
    name: 'Ada',
    email: 'ada@example.com',
    title: 'Engineer',
    firstName: 'Ada',
    lastName: 'Lovelace',
  });
  assert.deepEqual(second, first);
  await directory.lookup('U1');
  assert.equal(lookups() - before, 1, 'one users.info call for three lookups');
  now = 1001;
  await directory.lookup('U1');
  assert.equal(lookups() - before, 2, 'looked up again after the TTL');
});

test('a failed lookup still answers with the id', async () => {
  const directory = new UserDirectory(web);
  fake.failNext('users.info', { status: 500 });
  assert.deepEqual(await directory.lookup('U1'), { id: 'U1' });
  assert.equal((await directory.lookup('U1')).name, 'Ada', 'the failure was not cached');
});
